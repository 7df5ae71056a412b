-- One request, repeated as fast as the connections allow (workloads 4 and 5).
-- Environment: WRK_METHOD (GET), WRK_AUTH (Authorization value), WRK_DEPTH (optional),
-- WRK_BODY_FILE (optional request body, sent as XML).
-- No response() callback: wrk then skips handing headers and bodies to Lua, which would
-- cost the client more than some servers spend on the request.
wrk.method = os.getenv("WRK_METHOD") or "GET"
wrk.headers["Authorization"] = os.getenv("WRK_AUTH")
local depth = os.getenv("WRK_DEPTH")
if depth and depth ~= "" then
  wrk.headers["Depth"] = depth
end
local body_file = os.getenv("WRK_BODY_FILE")
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/xml; charset=utf-8"
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d, "latency_mean_us": %.1f, ' ..
    '"latency_p50_us": %d, "latency_p99_us": %d, "latency_max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency.mean, latency:percentile(50), latency:percentile(99), latency.max))
end
