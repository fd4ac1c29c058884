-- wrk script used by benchmarks/bench_checkout.py.
--
--   wrk ... -s benchmarks/wrk/bench.lua URL -- get    PATH
--   wrk ... -s benchmarks/wrk/bench.lua URL -- static PATH BODY_FILE
--   wrk ... -s benchmarks/wrk/bench.lua URL -- cycle  PATH LINES_FILE NTHREADS
--   wrk ... -s benchmarks/wrk/bench.lua URL -- rotate PATH BODIES_FILE NTHREADS
--
-- get:    GET PATH.
-- static: POST the JSON body in BODY_FILE to PATH on every request.
-- rotate: POST the JSON bodies of BODIES_FILE, one per line, in turn and over again; wrk thread
--         i (0-based) takes lines j, j+NTHREADS, j+2*NTHREADS, ... where j = i % NTHREADS: with
--         NTHREADS as many as wrk's threads, no two threads send the same body. Each request
--         carries an Idempotency-Key of its own, as a shopper's app or a vendor's screen sends.
-- cycle:  LINES_FILE holds one request per line, "X-OCOP-Signature<TAB>json body". wrk thread i
--         (0-based) sends lines i, i+NTHREADS, i+2*NTHREADS, ... once each, in order, so no two
--         requests are the same. A thread that runs out stops (wrk.thread:stop()); the request
--         it still has to return is a harmless GET /healthz, counted as `spare` (the benchmark
--         treats running out in a measured run as a failure: too few notifications).
--
-- done() prints one line "BENCHJSON {...}" with the totals and the latency percentiles (p95 is
-- not among the ones wrk --latency prints), in microseconds.

local threads = {}
local counter = 0

function setup(thread)
   thread:set("thread_index", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

-- Globals (not locals) so that done() can read them from each thread with thread:get().
sent = 0
spare = 0
lines_loaded = 0

local mode, items, count, position, fixed, healthz, rotate_path, rotate_headers, key_prefix

-- This thread's share of a file's lines: lines j, j+nthreads, ... where j = thread_index % nthreads.
local function own_lines(file_name, nthreads)
   local own, index = {}, 0
   for line in io.lines(file_name) do
      if index % nthreads == thread_index % nthreads then
         table.insert(own, line)
      end
      index = index + 1
   end
   return own
end

-- Random per thread and run, so that no two runs against one server send the same key.
local function random_hex(bytes)
   local file = assert(io.open("/dev/urandom", "rb"))
   local raw = file:read(bytes)
   file:close()
   return (raw:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

function init(args)
   mode = args[1]
   local path = args[2]
   if mode == "get" then
      fixed = wrk.format("GET", path)
   elseif mode == "static" then
      local file = assert(io.open(args[3], "rb"))
      local body = file:read("*a")
      file:close()
      fixed = wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
   elseif mode == "rotate" then
      items, position = own_lines(args[3], tonumber(args[4])), 0
      count = #items
      assert(count > 0, "no body for this thread in " .. args[3])
      rotate_path, rotate_headers = path, {["Content-Type"] = "application/json"}
      key_prefix = random_hex(8)
   elseif mode == "cycle" then
      items, position = {}, 0
      for _, line in ipairs(own_lines(args[3], tonumber(args[4]))) do
         local signature, body = line:match("^([^\t]+)\t(.+)$")
         table.insert(items, wrk.format("POST", path, {
            ["Content-Type"] = "application/json",
            ["X-OCOP-Signature"] = signature,
         }, body))
      end
      count = #items
      lines_loaded = count
      healthz = wrk.format("GET", "/healthz")
   else
      error("unknown mode " .. tostring(mode))
   end
end

function request()
   if mode == "rotate" then
      sent = sent + 1
      position = position % count + 1
      rotate_headers["Idempotency-Key"] = key_prefix .. "-" .. sent
      return wrk.format("POST", rotate_path, rotate_headers, items[position])
   end
   if mode ~= "cycle" then
      sent = sent + 1
      return fixed
   end
   if position >= count then
      spare = spare + 1
      wrk.thread:stop()
      return healthz
   end
   sent = sent + 1
   position = position + 1
   return items[position]
end

function done(summary, latency, requests)
   local total_sent, total_spare, total_lines = 0, 0, 0
   for _, thread in ipairs(threads) do
      total_sent = total_sent + (thread:get("sent") or 0)
      total_spare = total_spare + (thread:get("spare") or 0)
      total_lines = total_lines + (thread:get("lines_loaded") or 0)
   end
   local errors = summary.errors
   io.write(string.format(
      'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"p50":%d,"p90":%d,"p95":%d,"p99":%d,"mean":%.1f,"max":%d},' ..
      '"sent":%d,"spare":%d,"lines":%d}\n',
      summary.requests, summary.duration, summary.bytes,
      errors.connect, errors.read, errors.write, errors.status, errors.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(95),
      latency:percentile(99), latency.mean, latency.max,
      total_sent, total_spare, total_lines))
end
