-- bench/wrk-put.lua - the load bench's peer: wrk sending the requests an
-- ASSIGN row makes, PUT /v1/units/{unit}/residents/{user}, with the headers
-- unitsync-load sends (bearer token, Accept, a fresh Idempotency-Key each),
-- to a latch-sim holding the same units and users as the loader's.
--
--   BENCH_TOKEN=... BENCH_UNITS=units.txt BENCH_USERS=users.txt \
--       wrk -t 2 -c 16 -d 5s -s bench/wrk-put.lua http://127.0.0.1:PORT
--
-- units.txt and users.txt hold one uuid a line.  Request i of a thread
-- pairs user i mod N with unit (i + i div N) mod U, so that (nearly) every
-- request is a new assignment, as each of the loader's is.

local nthreads = 0
local counter = 0

-- runs in wrk's main state: number the threads (BENCH_THREADS must match -t)
function setup(thread)
	thread:set("id", nthreads)
	nthreads = nthreads + 1
end

local function lines(path)
	local t = {}
	for line in io.lines(path) do
		if line ~= "" then
			t[#t + 1] = line
		end
	end
	return t
end

function init(args)
	units = lines(os.getenv("BENCH_UNITS"))
	users = lines(os.getenv("BENCH_USERS"))
	token = os.getenv("BENCH_TOKEN")
	stride = tonumber(os.getenv("BENCH_THREADS") or "1")
end

function request()
	local i = counter * stride + id
	counter = counter + 1
	local n, u = #users, #units
	local user = users[i % n + 1]
	local unit = units[(i + math.floor(i / n)) % u + 1]
	return wrk.format("PUT", "/v1/units/" .. unit .. "/residents/" .. user, {
		["Authorization"] = "Bearer " .. token,
		["Accept"] = "application/json",
		["Idempotency-Key"] = string.format("wrk-%d-%d", id, i),
		["User-Agent"] = "wrk",
	})
end
