-- SPDX-License-Identifier: MIT
-- wrk script for make bench: POST /v1/patches with a unique uid per request.
-- Arguments after --: API_KEY OWNER_ADDRESS
local threads = 0
local counter = 0

function setup(thread)
    thread:set("id", threads)
    threads = threads + 1
end

function init(args)
    api_key = args[1]
    owner = args[2]
    prefix = "B" .. tostring(id) .. "-" .. tostring(math.random(1, 1000000000))
end

function request()
    counter = counter + 1
    local body = '{"product":{"uid_tag_id":"' .. prefix .. "-" .. counter ..
                 '"},"metadata":{},"auth":{"owner":"' .. owner .. '"}}'
    return wrk.format("POST", "/v1/patches",
                      {["Content-Type"] = "application/json", ["x-api-key"] = api_key}, body)
end
