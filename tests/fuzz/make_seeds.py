#!/usr/bin/env python3
"""Write the hand-made seeds of tests/fuzz/corpus/<target>/seed-*: valid protocol messages and operation
sequences in the FuzzInput format (fuzz_input.hpp). The rest of each corpus is what short fuzz runs added,
minimised with libFuzzer's -merge=1. Run from anywhere; rewrites only seed-* files."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def fr(s):
    b = s.encode('latin-1') if isinstance(s, str) else bytes(s)
    assert len(b) < 0xF0
    return bytes([len(b)]) + b


def msg(*frames):
    return bytes([len(frames)]) + b''.join(fr(f) for f in frames)


def write(target, name, data):
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'seed-' + name), 'wb') as f:
        f.write(data)


E = ''
# --- mdp_broker: what the broker receives
for n, m in {
    'v01-request': msg(E, 'MDPC01', 'echo', 'hello'),
    'v01-ready': msg(E, 'MDPW01', '\x01', 'echo'),
    'v01-reply': msg(E, 'MDPW01', '\x03', 'client', E, 'world'),
    'v01-heartbeat': msg(E, 'MDPW01', '\x04'),
    'v01-disconnect': msg(E, 'MDPW01', '\x05'),
    'v02-request': msg('MDPC02', '\x01', 'echo', 'hello'),
    'v02-ready': msg('MDPW02', '\x01', 'echo'),
    'v02-partial': msg('MDPW02', '\x03', 'client', E, 'part'),
    'v02-final': msg('MDPW02', '\x04', 'client', E, 'done'),
    'v02-heartbeat': msg('MDPW02', '\x05'),
    'v02-disconnect': msg('MDPW02', '\x06'),
    'mt-request': msg(E, 'MDPC02', '\x02', 'echo', 'hello'),
    'mt-final': msg(E, 'MDPW02', '\x04', 'client', E, 'done'),
}.items():
    write('mdp_broker', n, m)

# --- mdp_worker: version byte, then what the broker sends a worker
write('mdp_worker', 'v01-request', b'\x00' + msg(E, 'MDPW01', '\x02', 'client', E, 'hello'))
write('mdp_worker', 'v01-heartbeat', b'\x00' + msg(E, 'MDPW01', '\x04'))
write('mdp_worker', 'v01-disconnect', b'\x00' + msg(E, 'MDPW01', '\x05'))
write('mdp_worker', 'v02-request', b'\x01' + msg('MDPW02', '\x02', 'client', E, 'hello', 'more'))
write('mdp_worker', 'v02-heartbeat', b'\x01' + msg('MDPW02', '\x05'))
write('mdp_worker', 'mt-request', b'\x02' + msg(E, 'MDPW02', '\x02', 'client', E, 'hello'))
write('mdp_worker', 'mt-disconnect', b'\x02' + msg(E, 'MDPW02', '\x06'))

# --- mdp_client: mode byte (version, or 3: decode_client_reply; 0x10 delimited), then the reply
CID = b'\xffPIRCID\x01' + struct.pack('>Q', 7)
write('mdp_client', 'v01', b'\x00' + msg(E, 'MDPC01', 'echo', 'world'))
write('mdp_client', 'v01-correlated', b'\x00' + msg(E, 'MDPC01', 'echo', CID, 'world'))
write('mdp_client', 'v02-partial', b'\x01' + msg('MDPC02', '\x02', 'echo', 'part'))
write('mdp_client', 'v02-final', b'\x01' + msg('MDPC02', '\x03', 'echo', 'done'))
write('mdp_client', 'mt-final', b'\x02' + msg(E, 'MDPC02', '\x04', 'done'))
write('mdp_client', 'req-socket', b'\x03' + msg('MDPC01', 'echo', 'world'))
write('mdp_client', 'dealer', b'\x13' + msg(E, 'MDPC01', 'echo', 'world'))

# --- ppp
for n, m in {'ready': msg('\x01'), 'heartbeat': msg('\x02'), 'request': msg('client', E, 'hello'),
             'envelope': msg('a', 'b', E, 'hello', 'more')}.items():
    write('ppp', n, m)

# --- bstar_state
for i in range(1, 5):
    write('bstar_state', 'state%d' % i, msg(str(i)))

# --- uuid
write('uuid', 'upper', b'0123456789ABCDEF0123456789ABCDEF')
write('uuid', 'lower', b'0123456789abcdef0123456789abcdef')
write('uuid', 'short', b'0123456789ABCDEF')

# --- flp: mode (1 request in flight, 2 from a, 4 from b), then one message
write('flp', 'pong', b'\x02' + msg('PONG'))
write('flp', 'answer', b'\x03' + msg('1', 'OK'))
write('flp', 'stale', b'\x05' + msg('2', 'OK'))
write('flp', 'unknown', b'\x01' + msg('1', 'OK'))

# --- mmi: workers (count, then service frame + version each), waiting requests, then requests
mmi_setup = b'\x02' + fr('echo') + b'\x00' + fr('db') + b'\x01' + b'\x01' + fr('queued')
for n, (svc, arg) in {'service': ('mmi.service', 'echo'), 'service-404': ('mmi.service', 'nope'),
                      'workers': ('mmi.workers', 'echo'), 'services': ('mmi.services', ''),
                      'stats': ('mmi.stats', ''), 'unknown': ('mmi.nope', 'x')}.items():
    data = mmi_setup
    for v in range(3):
        data += bytes([v]) + fr(svc) + msg(arg)
    write('mmi', n, data)
write('mmi', 'correlated', mmi_setup + b'\x00' + fr('mmi.service') + msg(CID, 'echo'))

# --- tsp: max-open byte, then (op, body) pairs: 0 request, 1 reply, 2 close. Tokens: 0xF0 pending uuid,
# 0xF1 answered uuid, 0xF2 answered uuid in lower case.
tsp = b'\x00'
tsp += b'\x00' + msg('echo', 'hello')
tsp += b'\x01' + b'\x01\xf0' + b'\x01' + b'\x01\xf1' + b'\x01' + b'\x01\xf2'
tsp += b'\x02' + b'\x01\xf1' + b'\x01' + b'\x01\xf1'
write('tsp', 'all', tsp)
write('tsp', 'bad', b'\x01' + b'\x00' + msg('') + b'\x01' + msg('xyz', 'abc') + b'\x02' + msg())
write('tsp', 'full', b'\x00' + (b'\x00' + msg('echo', 'a')) * 4)


# --- titanic_store: mode byte; mode 1: records framed by the target (u16 length, body)
def rec_body(kind, uuid, frames=None):
    b = bytes([kind]) + uuid
    if frames is not None:
        b += struct.pack('<I', len(frames))
        for f in frames:
            fb = f.encode()
            b += struct.pack('<I', len(fb)) + fb
    return b


def framed(*bodies):
    return b''.join(struct.pack('>H', len(b)) + b for b in bodies)


U1, U2 = bytes(range(16)), bytes(range(16, 32))
write('titanic_store', 'empty-log', b'\x00' + b'TSPLOG01')
write('titanic_store', 'not-a-log', b'\x00' + b'garbage!')
write('titanic_store', 'records', b'\x01' + framed(rec_body(1, U1, ['echo', 'hello']),
                                                   rec_body(1, U2, ['echo', 'again']),
                                                   rec_body(2, U1, ['world'])))
write('titanic_store', 'closed', b'\x01' + framed(rec_body(1, U1, ['echo', 'hello']), rec_body(3, U1)))
write('titanic_store', 'torn', b'\x35' + framed(rec_body(1, U1, ['echo', 'hello']), rec_body(2, U1, ['x'])))
write('titanic_store', 'bad-crc', b'\x03' + framed(rec_body(1, U1, ['echo', 'hello'])) + b'\x01')

# --- broker_core: config byte, then (op, peer, args) steps; op % 11 selects, op >> 6 the version (3 -> 0.1)
def step(kind, peer, version, extra=b''):
    # find an op byte with op % 11 == kind and op >> 6 == version
    for b in range(256):
        if b % 11 == kind and (b >> 6) == version:
            return bytes([b, peer]) + extra
    raise ValueError((kind, version))


for v in range(3):
    s = b'\x00'
    s += step(1, 0, v, b'\x00')               # worker A READY echo
    s += step(2, 1, v, b'\x00' + msg('hi'))   # client B request echo
    s += step(3, 0, v, b'\x01\x01' + msg('yo'))  # A replies to B
    s += step(4, 0, v)                        # heartbeat
    s += step(6, 0, v, b'\x0f')               # 150 ms
    s += step(2, 2, v, b'\x00' + msg('again'))
    s += step(6, 0, v, b'\x40')               # 640 ms: A expires
    s += step(2, 3, v, b'\x03' + msg(''))      # mmi.service
    s += step(7, 0, v)
    s += step(5, 0, v)
    write('broker_core', 'flow-v%d' % v, s)
s = b'\x01' + step(1, 0, 0, b'\x00') + step(2, 1, 0, b'\x00' + msg('a')) + step(8, 0, 0, b'\x01\x01') + \
    step(2, 2, 0, b'\x00' + msg('b')) + step(7, 0, 0) + step(6, 0, 0, b'\xff') + step(9, 0, 0, b'\x00') + \
    step(2, 3, 0, b'\x00' + msg('c')) + step(10, 0, 0, b'\x00')
write('broker_core', 'gone-drain', s)

# --- ppqueue_core: (op, peer, args); op % 9
s = b'\x00\x00' + b'\x00\x01' + b'\x04\x01' + b'\x02\x00\x01' + b'\x01\x01' + b'\x05\x00\x20' + b'\x04\x02' + \
    b'\x05\x00\x50' + b'\x07\x00\x02\x01\x02' + b'\x00\x03' + b'\x04\x03' + b'\x06\x03' + b'\x08\x00' + \
    b'\x83\x01' + msg('c1', E, 'x')
write('ppqueue_core', 'flow', s)

# --- bstar_core: op: bit0 side, (op >> 1) % 6 kind
s = bytes([0, 1, 2, 3, 4 | 0, 10]) + bytes([5, 30]) + bytes([2]) + bytes([4, 100, 3]) + bytes([0, 1, 11, 3])
write('bstar_core', 'failover', s)
s = bytes([0, 1, 0, 1, 8, 0, 9, 0, 10, 2, 11, 4, 4, 50, 2, 3])
write('bstar_core', 'restart', s)

# --- flrouter_core: (op, endpoint, args); op % 8
s = b'\x00\x00' + b'\x00\x01' + b'\x02\x00' + b'\x02\x01' + b'\x01\x00' + b'\x03\x00\x01' + b'\x01\x00' + \
    b'\x06\x00\x40' + b'\x03\x01\x01' + b'\x05\x00' + b'\x06\x00\xff' + b'\x07\x00\x00' + b'\x04\x02' + msg('PONG')
write('flrouter_core', 'flow', s)

# --- titanic_core: compact byte, then (op, args); op % 9
s = b'\x01'
s += b'\x00\x00' * 3 + b'\x00\x01'   # requests (echo x3, x)
s += b'\x03'                         # commit
s += b'\x04'                         # dispatch
s += b'\x05\x00\x00'                 # lane 0: mmi.service 200
s += b'\x05\x00\x02'                 # lane 0: reply
s += b'\x03' + b'\x01\x00' + b'\x02\x01' + b'\x03'
s += b'\x06\xff' + b'\x05\x01\x01' + b'\x06\x80' + b'\x08'
s += b'\x07\x00' + b'\x01\x00' + b'\x02\x02' + b'\x08'
write('titanic_core', 'flow', s)
# --- flserver: model byte (1 + b % 3), then what the server's ROUTER receives (identity first)
write('flserver', 'm1-echo', b'\x00' + msg('id', E, 'hello', 'world'))
write('flserver', 'm1-rep-envelope', b'\x00' + msg('id', 'hop', E, 'hello'))
write('flserver', 'm2-request', b'\x01' + msg('id', E, '7', 'body'))
write('flserver', 'm3-ping', b'\x02' + msg('id', 'PING'))
write('flserver', 'm3-request', b'\x02' + msg('id', '1', 'body'))
write('flserver', 'm3-empty-sequence', b'\x02' + msg('id', E, 'body'))
print('seeds written under', os.path.join(HERE, 'corpus'))
