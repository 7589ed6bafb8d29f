-- wrk: recordPageView of the post POST_ID, each request from one of 1,000
-- browsers (a visitor is its user agent here: every request comes from 127.0.0.1).
wrk.method = "POST"
wrk.body = '{"postId": ' .. os.getenv("POST_ID") .. '}'
wrk.headers["Content-Type"] = "application/json"
request = function()
  wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 v"
    .. math.random(1000)
  return wrk.format()
end
