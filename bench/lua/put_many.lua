-- Exactly WRK_COUNT PUTs of one small body to WRK_PREFIX f0001.bin, f0002.bin, ... over the
-- connections wrk opens (workload 3). Run with -t 1. When the last response has arrived the
-- script prints its own timing (a monotonic clock through LuaJIT's FFI) and exits wrk:
-- wrk itself would wait for its full -d duration.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local prefix = os.getenv("WRK_PREFIX")
local count = tonumber(os.getenv("WRK_COUNT") or "1000")
local f = assert(io.open(os.getenv("WRK_BODY_FILE"), "rb"))
local body = f:read("*a")
f:close()
local headers = {
  ["Authorization"] = os.getenv("WRK_AUTH"),
  ["Content-Type"] = "application/octet-stream",
}

local reserved, received, good, t0 = 0, 0, 0, nil
local queue, head, tail = {}, 1, 0
local statuses = {}

-- wrk calls delay() before every request it sends, and request() once more beforehand to
-- check the script (that request is never sent). So delay() does the counting and hands out
-- the names (in order: wrk runs the zero-delay timers first come, first served); after
-- WRK_COUNT requests it parks the connection until the script exits.
function delay()
  if reserved >= count then
    return 3600000
  end
  if t0 == nil then
    t0 = now()
  end
  reserved = reserved + 1
  tail = tail + 1
  queue[tail] = reserved
  return 0
end

function request()
  local n = queue[head]
  if n == nil then
    n = 0 -- the check request, never sent
  else
    queue[head] = nil
    head = head + 1
  end
  return wrk.format("PUT", prefix .. string.format("f%04d.bin", n), headers, body)
end

function response(status, hdrs, b)
  received = received + 1
  if status == 201 or status == 204 then
    good = good + 1
  else
    statuses[status] = (statuses[status] or 0) + 1
  end
  if received >= count then
    local parts = {}
    for s, n in pairs(statuses) do
      parts[#parts + 1] = string.format('"%d": %d', s, n)
    end
    io.write(string.format(
      'WRKJSON {"requests": %d, "good": %d, "seconds": %.6f, "bad_statuses": {%s}}\n',
      received, good, now() - t0, table.concat(parts, ", ")))
    io.stdout:flush()
    os.exit(0)
  end
end
