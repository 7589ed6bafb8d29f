-- wrk: each request takes a random path from the file named by WRK_PATHS.
local paths = {}
for line in io.lines(os.getenv("WRK_PATHS")) do
  paths[#paths + 1] = line
end
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
