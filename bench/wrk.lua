-- One script for every case, configured from the environment by bench/lib/wrk.ts. With one path the
-- request is static: wrk builds it once per thread and runs no Lua per request (it shares our 2 cores).
wrk.method = os.getenv("WRK_METHOD") or "GET"
wrk.body = os.getenv("WRK_BODY")
wrk.headers["X-User-Id"] = os.getenv("WRK_USER_ID")
if wrk.body then
  wrk.headers["Content-Type"] = "application/json"
end
-- Extra headers, "Name: value" one a line (If-None-Match, say).
for line in (os.getenv("WRK_HEADERS") or ""):gmatch("[^\n]+") do
  local name, value = line:match("^([^:]+):%s*(.*)$")
  if name then
    wrk.headers[name] = value
  end
end

-- A fresh Idempotency-Key on every request: each user's request is formatted once, around a marker
-- where the key goes, and a request is two concatenations (Lua on every request, as little as can be:
-- wrk shares our 2 cores, and formatting each request in full took CPU from the server under test).
local key_prefix = os.getenv("WRK_UNIQUE_KEY_PREFIX")

-- Several paths, or several users, one per line in a file: each request takes the next. The update
-- case cycles paths so concurrent writers change different rows instead of queueing on one row's
-- lock; the create case cycles users, as real traffic does, so that none reaches the per-user limit.
local paths_file = os.getenv("WRK_PATHS_FILE")
local users_file = os.getenv("WRK_USERS_FILE")
if paths_file or users_file then
  local threads = 0
  function setup(thread)
    thread:set("thread_number", threads)
    threads = threads + 1
  end

  local function lines(file, fallback)
    local list = {}
    if file then
      for line in io.lines(file) do
        list[#list + 1] = line
      end
    else
      list[1] = fallback
    end
    return list
  end

  function init(args)
    local paths = lines(paths_file, wrk.path)
    local users = lines(users_file, wrk.headers["X-User-Id"])
    prepared = {}
    for i = 1, math.max(#paths, #users) do
      local headers = {}
      for name, value in pairs(wrk.headers) do
        headers[name] = value
      end
      headers["X-User-Id"] = users[(i - 1) % #users + 1]
      prepared[i] = wrk.format(nil, paths[(i - 1) % #paths + 1], headers)
    end
    -- Threads start far apart in the list (7919 is a prime), so they do not change the same rows at once.
    position = (thread_number * 7919) % #prepared
  end

  function request()
    position = position % #prepared + 1
    return prepared[position]
  end
end

if key_prefix then
  local threads = 0
  function setup(thread)
    thread:set("thread_number", threads)
    threads = threads + 1
  end
  local users_file = os.getenv("WRK_USERS_FILE")
  local marker = "\0KEY\0"
  function init(args)
    local users = {}
    if users_file then
      for line in io.lines(users_file) do
        users[#users + 1] = line
      end
    else
      users[1] = wrk.headers["X-User-Id"]
    end
    before, after = {}, {}
    for i, user in ipairs(users) do
      local headers = {}
      for name, value in pairs(wrk.headers) do
        headers[name] = value
      end
      headers["X-User-Id"] = user
      headers["Idempotency-Key"] = marker
      local request = wrk.format(nil, nil, headers)
      local at = request:find(marker, 1, true)
      before[i] = request:sub(1, at - 1)
      after[i] = request:sub(at + #marker)
    end
    key_stem = key_prefix .. "-" .. thread_number .. "-"
    sent = 0
  end
  function request()
    sent = sent + 1
    local i = (sent - 1) % #before + 1
    return before[i] .. key_stem .. sent .. after[i]
  end
end

-- Each request deletes a todo of its own: the n-th request of thread t deletes the todo with the id
-- numberedTodoId(t, n) of bench/lib/fixtures.ts, which the bench seeded for the user deleteUserIndex(t, n)
-- of the users file. As for the keys above: each user's request formatted once around a marker where the
-- id goes, and a request is two concatenations.
local numbered_path = os.getenv("WRK_NUMBERED_PATH")
if numbered_path then
  local threads = 0
  function setup(thread)
    thread:set("thread_number", threads)
    threads = threads + 1
  end
  local users_file = os.getenv("WRK_USERS_FILE")
  local marker = "\0ID\0"
  function init(args)
    before, after = {}, {}
    for user in io.lines(users_file) do
      local headers = {}
      for name, value in pairs(wrk.headers) do
        headers[name] = value
      end
      headers["X-User-Id"] = user
      local request = wrk.format(nil, numbered_path .. marker, headers)
      local at = request:find(marker, 1, true)
      before[#before + 1] = request:sub(1, at - 1)
      after[#after + 1] = request:sub(at + #marker)
    end
    id_stem = string.format("%08x-0000-4000-8000-", thread_number)
    -- 7919 as in deleteUserIndex: threads start far apart in the users.
    first_user = thread_number * 7919
    sent = 0
  end
  function request()
    sent = sent + 1
    local i = (sent - 1 + first_user) % #before + 1
    return before[i] .. id_stem .. (100000000000 + sent) .. after[i]
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
