-- Token bucket (see bucket.rs, which this mirrors exactly).
-- KEYS[1] = bucket key; ARGV = capacity, interval_ms, cost.
-- Returns {allowed 0|1, remaining, retry_after_ms (-1: never), reset_after_ms}.
-- Uses the server's clock, so processes with skewed clocks agree.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local capacity = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])

local current = capacity
local stored = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
if stored[1] and stored[2] then
  local elapsed = math.max(0, now - tonumber(stored[2]))
  current = math.min(capacity, tonumber(stored[1]) + elapsed * capacity / interval)
end
local until_full = math.ceil((capacity - current) * interval / capacity)

if cost > capacity then
  return {0, math.floor(current), -1, until_full}
end
if current < cost then
  return {0, math.floor(current), math.ceil((cost - current) * interval / capacity), until_full}
end

local left = current - cost
local reset = math.ceil((capacity - left) * interval / capacity)
redis.call('HSET', KEYS[1], 'tokens', tostring(left), 'updated', tostring(now))
-- The key lives exactly until the bucket would be full again (absent = full).
redis.call('PEXPIRE', KEYS[1], math.max(1, reset))
return {1, math.floor(left), 0, reset}
