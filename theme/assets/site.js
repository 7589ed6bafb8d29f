// flint's default theme script. Every page works without it; it only
// enhances: it counts a post's view, and posts a comment without a reload.

// A view counts once the page is actually seen (not prerendered, not a
// background tab that is never opened).
function countView() {
  const postId = Number(document.body.dataset.postId);
  if (!postId) return;
  const send = () => {
    const body = new Blob([JSON.stringify({ postId })], { type: 'application/json' });
    if (!navigator.sendBeacon('/_fn/recordPageView', body)) {
      fetch('/_fn/recordPageView', { method: 'POST', body, keepalive: true, headers: { 'content-type': 'application/json' } });
    }
  };
  if (document.visibilityState === 'visible') {
    send();
  } else {
    document.addEventListener('visibilitychange', function once() {
      if (document.visibilityState !== 'visible') return;
      document.removeEventListener('visibilitychange', once);
      send();
    });
  }
}

// The form posts to /_fn/createComment; the new comment is added to the
// thread it answers. A refusal is shown beside the form, which keeps the text.
function enhanceCommentForm(form) {
  const status = form.querySelector('[data-comment-status]');
  const say = (text, isError) => {
    status.textContent = text;
    status.classList.toggle('f-error', Boolean(isError));
  };
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const input = { postId: Number(data.get('postId')), content: String(data.get('content') || '') };
    for (const name of ['rootId', 'replyToCommentId']) {
      const value = Number(data.get(name));
      if (value) input[name] = value;
    }
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    say('Posting…');
    try {
      const response = await fetch('/_fn/createComment', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(input),
      });
      const body = await response.json().catch(() => null);
      if (!response.ok) {
        say((body && body.error && body.error.message) || `The comment was not posted (${response.status}).`, true);
        return;
      }
      addComment(form, body);
      form.reset();
      say(body.status === 'published' ? 'Your comment is posted.' : 'Your comment is posted and waits for moderation.');
    } catch {
      say('The comment was not posted: the connection failed. Try again.', true);
    } finally {
      button.disabled = false;
    }
  });
}

function addComment(form, comment) {
  const list = document.getElementById(form.dataset.list);
  if (!list) return;
  const item = document.createElement('li');
  item.className = 'f-comment';
  item.id = `comment-${comment.id}`;
  const meta = document.createElement('p');
  meta.className = 'f-meta';
  meta.textContent = comment.status === 'published' ? 'You, just now' : 'You, just now · awaiting moderation';
  const content = document.createElement('div');
  content.className = 'f-comment-body';
  // content_html is the server's sanitised rendering of the Markdown.
  content.innerHTML = comment.contentHtml;
  item.append(meta, content);
  if (form.dataset.newestFirst === 'true') list.prepend(item); else list.append(item);
  document.querySelector('[data-no-comments]')?.remove();
}

countView();
document.querySelectorAll('form[data-comment-form]').forEach(enhanceCommentForm);
