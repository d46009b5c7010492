/**
 * The Lua scripts of the revocation list, and the form of its change mark.
 *
 * The change mark (`{p}:{rev}:mark`) is `<epoch>:<sequence>`: the sequence grows by one with
 * every revocation, and the epoch (`<random>@<replication id>`) is chosen when a sequence starts.
 * A sequence starts afresh (new epoch, sequence 1, empty log) whenever the mark is not of this
 * form (the keys are new, Redis restarted empty or was flushed, or an instance of an older
 * release, which writes a random mark, changed the list) or was written by another server
 * (`master_replid` of `INFO replication`: a restart or a failover, perhaps to a replica that
 * lost the latest changes, whose numbers would otherwise be taken again by different ones). So
 * within one epoch, sequence n says exactly which revocations the list holds, and the log
 * (`{p}:{rev}:log`, a sorted set: field -> the sequence of its last change) names the entries
 * that changed after any n.
 */

/** A position in the sequence of changes: the copy holds every change up to `seq`. */
export interface SequenceMark {
  readonly epoch: string
  readonly seq: number
}

/** Reads a change mark of the form `<epoch>:<sequence>`; `undefined` for anything else. */
export function parseMark(mark: unknown): SequenceMark | undefined {
  if (typeof mark !== 'string') return undefined
  const at = mark.lastIndexOf(':')
  const digits = mark.slice(at + 1)
  if (at <= 0 || !/^[1-9][0-9]{0,15}$/.test(digits)) return undefined
  const seq = Number(digits)
  return Number.isSafeInteger(seq) ? { epoch: mark.slice(0, at), seq } : undefined
}

/**
 * The latest time the keys of the list are given to live, in milliseconds: the last moment a
 * JavaScript `Date` can name (year 275760). An entry may be kept longer (its own `expiresAt`
 * stands); only the keys' TTL stops there. Redis answers a score from 1e17 on as `1e+17`, which
 * `PEXPIREAT` refuses: without the bound, one entry kept that long made every later revocation
 * fail after it had been written, and go unannounced.
 */
export const MAX_EXPIRY_MS = 8_640_000_000_000_000

/**
 * One revocation, atomically: merge with what is held for the same target (the later cutoff and
 * expiry win), index its expiry, take the next sequence number and log the entry under it, drop
 * expired entries (from the hash, the expiry index and the log), give the four keys the life of
 * the longest entry, and announce the merged entry with its mark. All keys share the {rev} hash
 * tag, so this runs on one slot of a cluster.
 *
 * The announcement is the stored entry plus a `mark` field: instances of the previous release
 * read it by the fields they know and reload at their next check, since the mark changed.
 *
 * KEYS: entries (hash), expiry (sorted set), mark, log (sorted set).
 * ARGV: field, JSON, until (ms), now (ms), epoch for a new sequence, channel.
 * Returns: the merged entry, the new mark.
 */
export const REVOKE = `local value = ARGV[2]
local untilMs = tonumber(ARGV[3])
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local ok, prev = pcall(cjson.decode, old)
  if ok and type(prev) == 'table' then
    local new = cjson.decode(value)
    if type(prev.before) == 'number' and type(new.before) == 'number' and prev.before > new.before then
      new.before = prev.before
    end
    if type(prev.expiresAt) == 'number' and prev.expiresAt > new.expiresAt then
      new.expiresAt = prev.expiresAt
      untilMs = math.ceil(prev.expiresAt * 1000)
    end
    value = cjson.encode(new)
  end
end
local source = ''
local ok, info = pcall(redis.call, 'INFO', 'replication')
if ok and type(info) == 'string' then source = string.match(info, 'master_replid:(%w+)') or '' end
local epoch, from, seq = string.match(redis.call('GET', KEYS[3]) or '', '^([^@:]+@([^:]*)):([1-9]%d*)$')
if epoch == nil or from ~= source then
  epoch = ARGV[5] .. '@' .. source
  seq = 0
  redis.call('DEL', KEYS[4])
end
seq = tonumber(seq) + 1
local mark = epoch .. ':' .. string.format('%d', seq)
redis.call('HSET', KEYS[1], ARGV[1], value)
redis.call('ZADD', KEYS[2], untilMs, ARGV[1])
redis.call('ZADD', KEYS[4], seq, ARGV[1])
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
for i = 1, #expired do
  redis.call('HDEL', KEYS[1], expired[i])
  redis.call('ZREM', KEYS[4], expired[i])
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
redis.call('SET', KEYS[3], mark)
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if last[2] then
  local at = string.format('%d', math.min(tonumber(last[2]), ${MAX_EXPIRY_MS}))
  for i = 1, 4 do redis.call('PEXPIREAT', KEYS[i], at) end
end
redis.call('PUBLISH', ARGV[6], string.sub(value, 1, -2) .. ',"mark":' .. cjson.encode(mark) .. '}')
return {value, mark}`

/**
 * The changes after sequence n, one bounded batch, read atomically with the mark (so the caller
 * knows which epoch and sequence the batch belongs to). An entry logged but no longer in the
 * hash (expired and dropped) comes back as an empty string.
 *
 * KEYS: log, entries, mark. ARGV: n, largest number of entries.
 * Returns: mark (or ''), then sequence and entry for each change, in sequence order.
 */
export const CHANGES_AFTER = `local out = {redis.call('GET', KEYS[3]) or ''}
local changed = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
for i = 1, #changed, 2 do
  out[#out + 1] = changed[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[2], changed[i]) or ''
end
return out`
