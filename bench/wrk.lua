-- One script for every case, configured from the environment by bench/lib/wrk.ts. With one path the
-- request is static: wrk builds it once per thread and runs no Lua per request (it shares our 2 cores).
wrk.method = os.getenv("WRK_METHOD") or "GET"
wrk.body = os.getenv("WRK_BODY")
wrk.headers["X-User-Id"] = os.getenv("WRK_USER_ID")
if wrk.body then
  wrk.headers["Content-Type"] = "application/json"
end

-- Several paths, one per line in a file: each request takes the next. The update case uses this so
-- concurrent writers change different rows instead of queueing on one row's lock.
local paths_file = os.getenv("WRK_PATHS_FILE")
if paths_file then
  local threads = 0
  function setup(thread)
    thread:set("thread_number", threads)
    threads = threads + 1
  end

  function init(args)
    prepared = {}
    for path in io.lines(paths_file) do
      prepared[#prepared + 1] = wrk.format(nil, path)
    end
    -- Threads start far apart in the list (7919 is a prime), so they do not change the same rows at once.
    position = (thread_number * 7919) % #prepared
  end

  function request()
    position = position % #prepared + 1
    return prepared[position]
  end
end

-- One JSON line, so the numbers are read exactly instead of parsed back from "1.23ms".
-- Latencies are in microseconds; wrk counts a response with status > 399 in errors.status.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
      '"timeouts":%d,"http_errors":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max
  ))
end
