#!/usr/bin/env python3
"""Independent crypto oracle for smartpos tests.

Reads a JSON list of cases on stdin, answers a JSON list of results (hex) on
stdout. Every primitive comes from code we did not write: pyemv, psec and
cryptography. The two compositions the spec defines itself (the CUP ECB MAC
and the field 35 rule, acquirer-protocol.md section 4) are written here from
the spec text on top of those primitives, independently of the Rust code.
"""
import warnings
warnings.filterwarnings("ignore", message=".*TripleDES.*")
import json
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from psec import des as psec_des
from psec import pinblock
from pyemv import ac as emv_ac
from pyemv import kd as emv_kd
from pyemv import mac as emv_mac

OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def des_key(key: bytes) -> bytes:
    """psec/pyemv take 16/24-byte keys; single DES is 3DES with K1 = K2."""
    return key + key if len(key) == 8 else key


def cup_ecb_mac(mak: bytes, mab: bytes) -> bytes:
    # Section 4, step by step.
    if len(mab) % 8:
        mab += b"\x00" * (8 - len(mab) % 8)
    folded = bytes(8)
    for i in range(0, len(mab), 8):
        folded = bytes(a ^ b for a, b in zip(folded, mab[i:i + 8]))
    h = folded.hex().upper().encode()
    e1 = psec_des.encrypt_tdes_ecb(des_key(mak), h[:8])
    t = bytes(a ^ b for a, b in zip(e1, h[8:]))
    e2 = psec_des.encrypt_tdes_ecb(des_key(mak), t)
    return e2.hex().upper().encode()[:8]


def track2(tdk: bytes, track: str) -> str:
    digits = track.upper().replace("=", "D").rstrip("F")
    padded = digits + ("0" if len(digits) % 2 else "")
    raw = bytearray.fromhex(padded)
    end = len(raw) - 1
    raw[end - 8:end] = psec_des.encrypt_tdes_ecb(tdk, bytes(raw[end - 8:end]))
    return raw.hex().upper()[: len(digits)]


def run(case):
    op = case["op"]
    h = lambda k: bytes.fromhex(case[k])
    if op == "tdes_ecb":
        return psec_des.encrypt_tdes_ecb(des_key(h("key")), h("data")).hex()
    if op == "kcv":
        return psec_des.generate_kcv(des_key(h("key")), 4).hex()
    if op == "retail_mac":
        k = h("key")
        return emv_mac.mac_iso9797_3(k[:8], k[8:], h("data"), 1).hex()
    if op == "cup_ecb_mac":
        return cup_ecb_mac(h("key"), h("data")).hex()
    if op == "pin_block":
        clear = pinblock.encode_pinblock_iso_0(case["pin"], case["pan"])
        return psec_des.encrypt_tdes_ecb(h("key"), clear).hex()
    if op == "derive_mk":
        return emv_kd.derive_icc_mk_a(h("imk"), case["pan"], case["psn"]).hex()
    if op == "ac":
        return emv_ac.generate_ac(h("mk"), h("data"), emv_ac.PaddingType.VISA).hex()
    if op == "arpc1":
        return emv_ac.generate_arpc_1(h("mk"), h("arqc"), h("arc")).hex()
    if op == "track2":
        return track2(h("key"), case["track"])
    if op == "rsa_wrap":
        public = serialization.load_der_public_key(h("spki"))
        return public.encrypt(h("tmk"), OAEP).hex()
    if op == "rsa_unwrap":
        private = serialization.load_der_private_key(h("pkcs8"), password=None)
        return private.decrypt(h("ciphertext"), OAEP).hex()
    raise ValueError(f"unknown op {op}")


def main():
    cases = json.load(sys.stdin)
    json.dump([run(c) for c in cases], sys.stdout)


if __name__ == "__main__":
    main()
