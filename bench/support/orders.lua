-- wrk script for the orders service's read path (bench/http.mjs, workload "orders"):
--
--   wrk -s orders.lua URL -- HOT_FILE COLD_FILE COLD_OFFSET MISS_EVERY
--
-- GET /orders/:id. Every MISS_EVERY-th request asks for the next order of COLD_FILE (in the
-- database, never requested before in this run: a Redis miss, then PostgreSQL, then cached), the
-- others cycle over HOT_FILE (cached after their first request: Redis hits). COLD_OFFSET is where
-- this run starts in COLD_FILE, so the warm-up and the measured window use disjoint cold orders.
-- done() prints one line "orders: hit=N miss=N other=N" (other: any status but 200).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local function readLines(file)
  local t = {}
  for line in io.lines(file) do
    if line ~= "" then t[#t + 1] = line end
  end
  return t
end

function init(args)
  hot = readLines(args[1])
  cold = readLines(args[2])
  coldNext = tonumber(args[3])
  missEvery = tonumber(args[4])
  n = 0
  hits, misses, other = 0, 0, 0
end

function request()
  n = n + 1
  local id
  if missEvery > 0 and n % missEvery == 0 then
    id = cold[coldNext % #cold + 1]
    coldNext = coldNext + 1
  else
    id = hot[n % #hot + 1]
  end
  return wrk.format("GET", "/orders/" .. id)
end

function response(status, headers, body)
  if status ~= 200 then
    other = other + 1
  elseif (headers["x-cache"] or headers["X-Cache"]) == "hit" then
    hits = hits + 1
  else
    misses = misses + 1
  end
end

function done(summary, latency, requests)
  local h, m, o = 0, 0, 0
  for _, t in ipairs(threads) do
    h = h + t:get("hits")
    m = m + t:get("misses")
    o = o + t:get("other")
  end
  io.write(string.format("orders: hit=%d miss=%d other=%d\n", h, m, o))
end
