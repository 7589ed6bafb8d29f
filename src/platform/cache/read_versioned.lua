-- Reads a versioned cache entry in one round trip.
-- KEYS[1]: the namespace's version key; ARGV[1]: the entry name up to ":v";
-- ARGV[2]: the rest of the entry name. Returns {version, value or nil}.
local version = redis.call('GET', KEYS[1]) or '0'
return {tonumber(version), redis.call('GET', ARGV[1] .. version .. ARGV[2])}
