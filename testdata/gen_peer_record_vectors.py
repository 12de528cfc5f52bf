#!/usr/bin/env python3
"""Generates peer_record.json in this directory: signed peer records as peer
exchange (PROTOCOL.md 11.1) carries them, i.e. libp2p's signed envelope
(libp2p specification RFC 0002) holding a routing record (RFC 0003).

Written from those specifications with Python's integers and hashlib only
(the Ed25519 arithmetic of gen_ledger_vectors.py), so that the bytes do not
come from the Go code they test. Each case gives the envelope and whether a
receiver accepts it ("valid"): the envelope's signature verifies over the
domain, the payload type and the payload, the payload type is a peer
record's, and the key that signed is the key of the record's peer ID. Run it
with python3 from any directory; it rewrites peer_record.json.
"""

import hashlib
import ipaddress
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from gen_ledger_vectors import address, plain_verify, public_key, sign  # noqa: E402

DOMAIN = b"libp2p-peer-record"
PAYLOAD_TYPE = b"\x03\x01"  # the multicodec libp2p-peer-record (0x0301) as a uvarint


def uvarint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(number, data):
    """A protobuf field of wire type 2 (bytes or an embedded message)."""
    return uvarint(number << 3 | 2) + uvarint(len(data)) + data


def multiaddr(text):
    """The binary multiaddr of /ip4|ip6/A/tcp|udp/P[/quic-v1]."""
    parts = text.strip("/").split("/")
    out = b""
    while parts:
        proto = parts.pop(0)
        if proto == "ip4":
            out += uvarint(0x04) + ipaddress.IPv4Address(parts.pop(0)).packed
        elif proto == "ip6":
            out += uvarint(0x29) + ipaddress.IPv6Address(parts.pop(0)).packed
        elif proto in ("tcp", "udp"):
            out += uvarint(0x06 if proto == "tcp" else 0x0111) + int(parts.pop(0)).to_bytes(2, "big")
        elif proto == "quic-v1":
            out += uvarint(0x01CD)
        else:
            raise ValueError(proto)
    return out


def peer_id(pub):
    """The binary peer ID of an Ed25519 key: its identity multihash."""
    return b"\x00\x24\x08\x01\x12\x20" + pub


def peer_record(pid, seq, addrs):
    """PeerRecord {peer_id = 1 (bytes), seq = 2 (uint64),
    addresses = 3 (repeated AddressInfo {multiaddr = 1 (bytes)})}."""
    out = field(1, pid) + uvarint(2 << 3 | 0) + uvarint(seq)
    for a in addrs:
        out += field(3, field(1, multiaddr(a)))
    return out


def signing_bytes(domain, payload_type, payload):
    return b"".join(uvarint(len(f)) + f for f in (domain, payload_type, payload))


def envelope(pub, payload_type, payload, sig):
    """Envelope {public_key = 1 (PublicKey {Type = 1: 1 Ed25519, Data = 2}),
    payload_type = 2, payload = 3, signature = 5}."""
    key = uvarint(1 << 3 | 0) + uvarint(1) + field(2, pub)
    return field(1, key) + field(2, payload_type) + field(3, payload) + field(5, sig)


def accepts(env_fields, record_pid):
    """A receiver's verdict, from the parts it decodes."""
    pub, ptype, payload, sig = env_fields
    if ptype != PAYLOAD_TYPE:
        return False
    if not plain_verify(pub, signing_bytes(DOMAIN, ptype, payload), sig):
        return False
    return peer_id(pub) == record_pid


def vectors():
    seed = hashlib.sha256(b"gossipchain peer record vectors").digest()
    other = hashlib.sha256(b"gossipchain peer record vectors, another key").digest()
    pub, pub2 = public_key(seed), public_key(other)
    seq = 1767225600000000000
    addrs = ["/ip4/192.0.2.1/tcp/4001", "/ip4/192.0.2.1/udp/4001/quic-v1", "/ip6/2001:db8::1/tcp/4001"]
    payload = peer_record(peer_id(pub), seq, addrs)
    unsigned = signing_bytes(DOMAIN, PAYLOAD_TYPE, payload)
    sig = sign(seed, unsigned)
    cases = []

    def case(description, key, ptype, body, signature, record_pid):
        cases.append({
            "description": description,
            "envelope": envelope(key, ptype, body, signature).hex(),
            "valid": accepts((key, ptype, body, signature), record_pid),
        })

    case("a record signed by its peer's key", pub, PAYLOAD_TYPE, payload, sig, peer_id(pub))
    tampered = payload[:-1] + bytes([payload[-1] ^ 1])
    case("the payload changed after signing (a port)", pub, PAYLOAD_TYPE, tampered, sig, peer_id(pub))
    bad = bytearray(sig)
    bad[0] ^= 1
    case("a bit of the signature flipped", pub, PAYLOAD_TYPE, payload, bytes(bad), peer_id(pub))
    other_domain = sign(seed, signing_bytes(b"libp2p-routing-state", PAYLOAD_TYPE, payload))
    case("signed under another domain", pub, PAYLOAD_TYPE, payload, other_domain, peer_id(pub))
    # Another key signs a record that names the first peer.
    by_other = sign(other, signing_bytes(DOMAIN, PAYLOAD_TYPE, payload))
    case("the record of one peer signed by another key", pub2, PAYLOAD_TYPE, payload, by_other, peer_id(pub))
    return {
        "domain": DOMAIN.decode(),
        "payload_type": PAYLOAD_TYPE.hex(),
        "seed": seed.hex(),
        "public_key": pub.hex(),
        "peer_id": address(pub),
        "seq": seq,
        "addrs": addrs,
        "payload": payload.hex(),
        "signing_bytes": unsigned.hex(),
        "signature": sig.hex(),
        "cases": cases,
    }


if __name__ == "__main__":
    with open(os.path.join(HERE, "peer_record.json"), "w") as f:
        json.dump(vectors(), f, indent=1)
        f.write("\n")
