// The public site as readers and their browsers see it, against a running
// flint (started by scripts/check-site.sh):
//
//   node check-site.mjs BASE_URL ADMIN_EMAIL PASSWORD OUT_DIR VNU_JAR
//
// 1. seeds it through the API: a post with code, a table and footnotes, a
//    plain post, a standalone page, a comment, navigation;
// 2. validates the HTML of every kind of page with the Nu Html Checker
//    (vnu.jar): no errors;
// 3. checks every page in Chromium (playwright-core) for accessibility:
//    axe-core finds no violation, one h1, headings that do not skip a
//    level, images with alt, fields with labels;
// 4. walks through it as a reader: opens the home page, follows the first
//    post, sees highlighted code, is counted by the page-view beacon,
//    searches and follows a result, signs in and comments (the comment
//    appears), and keeps a screenshot.
//
// It runs as a copy beside node_modules (Node resolves an ES module's
// imports from the module's own folder). Exits 1 with the reasons when a
// check fails.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [base, adminEmail, password, outDir, vnuJar] = process.argv.slice(2);
if (!vnuJar) {
  console.error('usage: node check-site.mjs BASE_URL ADMIN_EMAIL PASSWORD OUT_DIR VNU_JAR');
  process.exit(2);
}
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const failures = [];
const fail = (what) => {
  failures.push(what);
  console.error(`check-site: FAIL ${what}`);
};

// ---- seeding, through the JSON API as the admin ------------------------------

/** An API client that keeps its session cookie (`call.cookie()`). */
function client() {
  let cookie = '';
  const call = async function (method, route, body) {
    const headers = { accept: 'application/json' };
    if (cookie) headers.cookie = cookie;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(base + route, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), redirect: 'manual' });
    const set = res.headers.get('set-cookie');
    if (set) cookie = set.split(';')[0];
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  call.cookie = () => cookie;
  return call;
}

const admin = client();
await admin('POST', '/api/auth/sign-in/email', { email: adminEmail, password });
const config = await admin('GET', '/_fn/getSystemConfig');
config.comments = { ...config.comments, moderation: 'open' };
config.site = { ...config.site, title: 'flint CI', description: 'The site check of flint.', navigation: [{ label: 'About', url: '/about' }] };
await admin('POST', '/_fn/updateSystemConfig', config);

async function waitFor(route) {
  for (let i = 0; i < 100; i += 1) {
    const res = await fetch(base + route);
    if (res.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${route} did not appear within 20 s`);
}

async function publish(fields, kind = 'post') {
  const { id } = await admin('POST', '/_fn/createEmptyPost', {});
  await admin('POST', '/_fn/updatePost', { id, data: { ...fields, kind } });
  await admin('POST', '/_fn/startPostProcessWorkflow', { id, status: 'published' });
  await waitFor(kind === 'page' ? `/${fields.slug}` : `/post/${fields.slug}`);
  return id;
}

const CODE_POST = `Borrowing, explained with lifetimes.

## A function

\`\`\`rust
fn longest<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.len() > b.len() { a } else { b }
}
\`\`\`

## A table

| Input | Output |
|-------|--------|
| "ab", "c" | "ab" |

Lifetimes are checked at compile time.[^1]

[^1]: They cost nothing at run time.
`;

await publish({ title: 'A quiet start', slug: 'a-quiet-start', summary: 'The first post.', content: 'Plain words to begin with.', tags: ['notes'] });
const postId = await publish({
  title: 'Rust lifetimes',
  slug: 'rust-lifetimes',
  summary: 'How the borrow checker reads lifetimes.',
  content: CODE_POST,
  tags: ['rust', 'notes'],
  category: 'Programming',
});
await publish({ title: 'About', slug: 'about', summary: 'Who writes here.', content: 'A blog about programming.' }, 'page');
await admin('POST', '/_fn/createComment', { postId, content: 'A *first* comment, from the admin.' });
const reader = client();
const readerEmail = 'reader@example.com';
await reader('POST', '/api/auth/sign-up/email', { name: 'Rita Reader', email: readerEmail, password });

// ---- HTML validity -------------------------------------------------------------

const PAGES = [
  '/',
  '/post/rust-lifetimes',
  '/posts',
  '/tag/rust',
  '/category/Programming',
  '/tags',
  '/archive',
  '/search?q=lifetimes',
  '/search?q=nothing-matches-this',
  '/about',
  '/friend-links',
  '/sign-in',
  '/register',
  '/forgot-password',
  '/verify-email',
  '/no-such-page',
];
const htmlDir = path.join(outDir, 'html');
mkdirSync(htmlDir, { recursive: true });
const files = [];
// Anonymous pages, then the ones a signed-in reader gets (with their forms).
const ADMIN_PAGES = ['/admin', '/admin?range=24h', '/admin/posts', '/admin/posts?status=draft&q=nothing'];
const visits = [
  ...PAGES.map((route) => [route, '']),
  ['/post/rust-lifetimes', reader.cookie()],
  ['/friend-links', reader.cookie()],
  ...ADMIN_PAGES.map((route) => [route, admin.cookie()]),
];
for (const [route, cookie] of visits) {
  const headers = { accept: 'text/html' };
  if (cookie) headers.cookie = cookie;
  const res = await fetch(base + route, { headers });
  const expected = route === '/no-such-page' ? 404 : 200;
  if (res.status !== expected) fail(`${route}: status ${res.status}, expected ${expected}`);
  const html = await res.text();
  if (route.startsWith('/post/') && Buffer.byteLength(html) > 40 * 1024) fail(`${route}: ${Buffer.byteLength(html)} bytes of HTML (at most 40 KB)`);
  if (/value="None"|>None<\/textarea>/.test(html)) fail(`${route}: a form shows "None" for an empty value`);
  const name = `${cookie ? 'signed-in' : 'anonymous'}${route.replace(/[^a-z0-9]+/gi, '_')}`;
  if (route.startsWith('/admin') && !/private, no-store/.test(res.headers.get('cache-control') ?? '')) fail(`${route}: an admin page may be kept`);
  const file = path.join(htmlDir, `${name}.html`);
  writeFileSync(file, html);
  files.push([`${route}${cookie ? ' (signed in)' : ''}`, file]);
}
const vnu = spawnSync('java', ['-jar', vnuJar, '--errors-only', '--format', 'json', ...files.map(([, file]) => file)], { encoding: 'utf8' });
const report = JSON.parse(vnu.stderr || vnu.stdout || '{"messages":[]}');
for (const message of report.messages) {
  const route = files.find(([, file]) => message.url && message.url.endsWith(path.basename(file)))?.[0] ?? message.url;
  fail(`HTML ${route}:${message.lastLine ?? '?'}: ${message.message}`);
}
console.log(`check-site: ${files.length} pages validated by the Nu Html Checker, ${report.messages.length} errors`);

// ---- accessibility, in the browser -------------------------------------------------

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
});
try {
  // A reader's browser, as far as the bot filter of page views can tell
  // (headless Chromium says "HeadlessChrome", which is not counted).
  const context = await browser.newContext({
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36',
  });
  const page = await context.newPage();
  const adminContext = await browser.newContext();
  const [cookieName, cookieValue] = admin.cookie().split('=');
  await adminContext.addCookies([{ name: cookieName, value: cookieValue, url: base }]);
  const adminPage = await adminContext.newPage();
  const checked = [...PAGES.map((route) => [page, route]), ...ADMIN_PAGES.map((route) => [adminPage, route])];
  for (const [page, route] of checked) {
    await page.goto(base + route);
    await page.addScriptTag({ content: axeSource });
    const violations = await page.evaluate(async () => {
      // eslint-disable-next-line no-undef
      const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
      return result.violations.map((v) => `${v.id} (${v.help}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    });
    for (const violation of violations) fail(`a11y ${route}: ${violation}`);
    const problems = await page.evaluate(() => {
      const out = [];
      const h1s = document.querySelectorAll('h1').length;
      if (h1s !== 1) out.push(`${h1s} h1 elements`);
      let previous = 0;
      for (const heading of document.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
        const level = Number(heading.tagName[1]);
        if (previous && level > previous + 1) out.push(`the headings skip from h${previous} to h${level} at "${heading.textContent.trim()}"`);
        previous = level;
      }
      for (const image of document.querySelectorAll('img')) if (!image.hasAttribute('alt')) out.push(`an image without alt: ${image.src}`);
      for (const field of document.querySelectorAll('input:not([type=hidden]), textarea, select')) {
        const labelled = (field.labels && field.labels.length) || field.getAttribute('aria-label') || field.getAttribute('aria-labelledby');
        if (!labelled) out.push(`a field without a label: ${field.name}`);
      }
      return out;
    });
    for (const problem of problems) fail(`a11y ${route}: ${problem}`);
  }
  console.log(`check-site: ${checked.length} pages checked with axe-core and the structure rules`);
  await adminPage.goto(`${base}/admin`);
  if (!new URL(adminPage.url()).pathname.startsWith('/admin') || !(await adminPage.locator('svg.a-chart').count())) {
    fail(`the admin's dashboard did not open (at ${adminPage.url()})`);
  }
  await adminPage.screenshot({ path: path.join(outDir, 'admin-dashboard.png'), fullPage: true });
  // The posts screen, driven by the keyboard only: focus the title field,
  // type, and press Enter to filter.
  await adminPage.goto(`${base}/admin/posts`);
  await adminPage.focus('#q');
  await adminPage.keyboard.type('rust');
  await adminPage.keyboard.press('Enter');
  await adminPage.waitForURL(/\/admin\/posts\?q=rust/);
  if (!(await adminPage.getByText('Rust lifetimes').count())) fail('the posts screen found "Rust lifetimes" by keyboard');
  await adminPage.screenshot({ path: path.join(outDir, 'admin-posts.png'), fullPage: true });

  // ---- a reader's visit ----------------------------------------------------------------
  await page.goto(`${base}/`);
  await page.click('.f-list h2 a');
  await page.waitForURL(/\/post\/rust-lifetimes$/);
  const [tokenColour, textColour] = await page.evaluate(() => {
    const token = document.querySelector('.f-content pre span.storage, .f-content pre span.keyword, .f-content pre span.entity');
    const code = document.querySelector('.f-content pre');
    return [token ? getComputedStyle(token).color : null, code ? getComputedStyle(code).color : null];
  });
  if (!tokenColour || tokenColour === textColour) fail(`the code is not highlighted: token ${tokenColour}, text ${textColour}`);
  else console.log(`check-site: highlighted code (a keyword is ${tokenColour}, the text ${textColour})`);
  // The beacon counted the visit (views are written in batches).
  let views = 0;
  for (let i = 0; i < 60 && !views; i += 1) {
    const counts = await (await fetch(`${base}/_fn/getViewCounts?slugs=rust-lifetimes`)).json();
    views = counts['rust-lifetimes'] ?? 0;
    if (!views) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  if (!views) fail('the page-view beacon: no view of the post was counted within 15 s');
  else console.log(`check-site: the beacon counted ${views} view(s) of the post`);

  await page.fill('#site-search', 'lifetimes');
  await page.press('#site-search', 'Enter');
  await page.waitForURL(/\/search\?q=lifetimes/);
  const marked = await page.locator('.f-results mark').count();
  if (!marked) fail('the search results mark the words');
  await page.click('.f-results h2 a');
  await page.waitForURL(/\/post\/rust-lifetimes$/);

  await page.click('.f-comments a[href^="/sign-in"]');
  await page.waitForURL(/\/sign-in/);
  await page.fill('#email', readerEmail);
  await page.fill('#password', password);
  await page.click('form[action="/sign-in"] button[type=submit]');
  await page.waitForURL(/\/post\/rust-lifetimes/);
  const words = `Thanks, this helped (${Date.now()}).`;
  await page.fill('#comment-new', words);
  await page.click('form[data-comment-form] button[type=submit]');
  await page.locator('#comment-list').getByText(words).waitFor({ timeout: 10_000 });
  await page.reload();
  if (!(await page.locator('#comment-list').getByText(words).count())) fail('the comment is there after a reload');
  console.log('check-site: a reader opened a post, searched, signed in and commented');
  const screenshot = path.join(outDir, 'post.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`check-site: screenshot of the post page in ${screenshot}`);
} catch (error) {
  fail(`the reader's visit: ${error.message}`);
} finally {
  await browser.close();
}

if (failures.length) {
  console.error(`check-site: ${failures.length} problems`);
  process.exit(1);
}
console.log('check-site: the public site passes');
