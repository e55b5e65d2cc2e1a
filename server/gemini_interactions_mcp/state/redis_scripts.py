"""The Lua scripts of the Redis store: each one is a multi-key change that Redis runs atomically, so a
change is either complete or absent (nothing half-written), and compare-and-set needs no WATCH loop.

Keys are built inside the scripts from the prefix passed as ARGV, which works on a standalone Redis or
a single shard (not across a cluster's slots). Empty strings stand for "none" (a name, a head, a finish
time): an id or name is never empty.
"""

from __future__ import annotations

CREATE_CONVERSATION = """
local key, names, mine = KEYS[1], KEYS[2], KEYS[3]
local id, owner, name, head, updated, data = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if redis.call('EXISTS', key) == 1 then return 'exists' end
if name ~= '' and redis.call('HSETNX', names, name, id) == 0 then return 'name' end
redis.call('HSET', key, 'owner', owner, 'name', name, 'head', head, 'updated', updated, 'data', data)
redis.call('ZADD', mine, updated, id)
return 'ok'
"""

GET_CONVERSATION = """
local prefix, owner, wanted = ARGV[1], ARGV[2], ARGV[3]
local function owned(id)
  local row = redis.call('HMGET', prefix .. 'conv:' .. id, 'owner', 'name', 'head', 'updated', 'data')
  if row[1] == owner then return {id, row[2], row[3], row[4], row[5]} end
  return false
end
local found = owned(wanted)
if found then return found end
local named = redis.call('HGET', prefix .. 'convnames:' .. owner, wanted)
if named then return owned(named) end
return false
"""

ADVANCE_CONVERSATION = """
local key, mine = KEYS[1], KEYS[2]
local owner, expected, head, updated, data, id = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local row = redis.call('HMGET', key, 'owner', 'head')
if row[1] ~= owner or row[2] ~= expected then return 0 end
redis.call('HSET', key, 'head', head, 'updated', updated, 'data', data)
redis.call('ZADD', mine, updated, id)
return 1
"""

RENAME_CONVERSATION = """
local key, names = KEYS[1], KEYS[2]
local owner, id, name = ARGV[1], ARGV[2], ARGV[3]
local row = redis.call('HMGET', key, 'owner', 'name')
if row[1] ~= owner then return 'unknown' end
if name ~= '' then
  local holder = redis.call('HGET', names, name)
  if holder and holder ~= id then return 'taken' end
end
if row[2] ~= '' then redis.call('HDEL', names, row[2]) end
if name ~= '' then redis.call('HSET', names, name, id) end
redis.call('HSET', key, 'name', name)
return 'ok'
"""

DELETE_CONVERSATION = """
local key, names, mine = KEYS[1], KEYS[2], KEYS[3]
local owner, id = ARGV[1], ARGV[2]
local row = redis.call('HMGET', key, 'owner', 'name')
if row[1] ~= owner then return 0 end
if row[2] ~= '' then redis.call('HDEL', names, row[2]) end
redis.call('ZREM', mine, id)
redis.call('DEL', key)
return 1
"""

PUT_JOB = """
local prefix, id, owner, conversation, created, finished, data, insert =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local key = prefix .. 'job:' .. id
local old = redis.call('HMGET', key, 'owner', 'conversation')
if insert == '1' then
  if old[1] then return 'exists' end
elseif old[1] ~= owner then
  return 'unknown'
end
if old[2] and old[2] ~= '' then redis.call('SREM', prefix .. 'running:' .. old[2], id) end
redis.call('HSET', key, 'owner', owner, 'conversation', conversation, 'created', created,
  'finished', finished, 'data', data)
if finished == '' then
  redis.call('ZADD', prefix .. 'running', created, id)
  redis.call('ZREM', prefix .. 'finished', id)
  if conversation ~= '' then redis.call('SADD', prefix .. 'running:' .. conversation, id) end
else
  redis.call('ZREM', prefix .. 'running', id)
  redis.call('ZADD', prefix .. 'finished', finished, id)
end
return 'ok'
"""

DELETE_JOBS = """
local prefix = ARGV[1]
for i = 2, #ARGV do
  local id = ARGV[i]
  redis.call('DEL', prefix .. 'job:' .. id)
  redis.call('ZREM', prefix .. 'finished', id)
end
return #ARGV - 1
"""

RECORD_AGENT = """
local agents, mine = KEYS[1], KEYS[2]
local id, owner, created = ARGV[1], ARGV[2], ARGV[3]
redis.call('HSETNX', agents, id, owner)
if redis.call('HGET', agents, id) ~= owner then return 0 end
redis.call('ZADD', mine, 'NX', created, id)
return 1
"""

FORGET_AGENT = """
local agents, prefix, id = KEYS[1], ARGV[1], ARGV[2]
local owner = redis.call('HGET', agents, id)
if not owner then return 0 end
redis.call('HDEL', agents, id)
redis.call('ZREM', prefix .. 'agents:' .. owner, id)
return 1
"""

ACQUIRE_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

RENEW_LEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""

TAKE_RATE = """
-- GCRA on the server's clock, so every replica counts against the same timeline.
local interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local following = tat + interval
local wait = following - now - interval * burst
if wait > 0 then return tostring(wait) end
redis.call('SET', KEYS[1], tostring(following), 'PX', math.ceil((following - now) * 1000) + 1000)
return '0'
"""

PRUNE_RESOURCES = """
local index, before, batch = KEYS[1], ARGV[1], ARGV[2]
local ids = redis.call('ZRANGEBYSCORE', index, '-inf', '(' .. before, 'LIMIT', 0, batch)
local found = {}
for _, id in ipairs(ids) do
  local key = index .. ':' .. id
  local value = redis.call('GET', key)
  if value then
    found[#found + 1] = value
    redis.call('DEL', key)
  end
  redis.call('ZREM', index, id)
end
return {#ids, found}
"""
