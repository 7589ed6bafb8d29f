-- Reads a versioned cache entry in one round trip.
-- KEYS[1]: the namespace's version key; ARGV[1]: the entry name up to ":v";
-- ARGV[2]: the rest of the entry name; ARGV[3]: the first line (the content
-- hash) of a copy the caller holds, or ''. Returns {version, value, 0}, or
-- {version, nil, 1} when the current entry begins with ARGV[3]: the caller's
-- copy is current and the value is not sent.
local version = redis.call('GET', KEYS[1]) or '0'
local name = ARGV[1] .. version .. ARGV[2]
local known = ARGV[3]
if known ~= '' and redis.call('GETRANGE', name, 0, #known - 1) == known then
  return {tonumber(version), false, 1}
end
return {tonumber(version), redis.call('GET', name), 0}
