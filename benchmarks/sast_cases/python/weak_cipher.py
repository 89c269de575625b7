"""Held-out SAST benchmark cases: weak or broken cipher (CWE-327). Scan input only."""
import os

from Crypto.Cipher import AES as PyAES
from Crypto.Cipher import ARC4, DES, Blowfish
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from django.http import HttpRequest, JsonResponse
from fastapi import FastAPI
from flask import Flask, request

app = Flask(__name__)
api = FastAPI()
KEY = os.urandom(32)


@app.post("/encrypt")
def encrypt():
    cipher = DES.new(KEY[:8], DES.MODE_ECB)  # case: weak-cipher vulnerable
    return cipher.encrypt(request.get_data().ljust(8, b" ")[:8])


@app.post("/stream")
def stream():
    rc4 = ARC4.new(KEY)  # case: weak-cipher vulnerable
    return rc4.encrypt(request.get_data())


def card_block(request: HttpRequest) -> JsonResponse:
    enc = Cipher(algorithms.AES(KEY), modes.ECB()).encryptor()  # case: weak-cipher vulnerable
    return JsonResponse({"ct": enc.update(b"0" * 16).hex()})


@api.post("/legacy")
async def legacy(data: str):
    bf = Blowfish.new(KEY[:16], Blowfish.MODE_CBC)  # case: weak-cipher vulnerable
    return {"ct": bf.encrypt(data.encode().ljust(8)[:8]).hex()}


@app.post("/pin-block")
def pin_block():
    aes = PyAES.new(KEY, PyAES.MODE_ECB)  # case: weak-cipher vulnerable
    return aes.encrypt(request.get_data()[:16].ljust(16, b"\0"))


@app.post("/encrypt2")
def encrypt_safe():
    nonce = os.urandom(12)
    return nonce + AESGCM(KEY).encrypt(nonce, request.get_data(), None)  # case: weak-cipher safe


@app.post("/stream2")
def stream_safe():
    nonce = os.urandom(12)
    return ChaCha20Poly1305(KEY).encrypt(nonce, request.get_data(), None)  # case: weak-cipher safe


def card_block_safe(request: HttpRequest) -> JsonResponse:
    f = Fernet(Fernet.generate_key())
    return JsonResponse({"ct": f.encrypt(b"0" * 16).decode()})  # case: weak-cipher safe


@api.post("/legacy2")
async def legacy_safe(data: str):
    iv = os.urandom(16)
    enc = Cipher(algorithms.AES(KEY), modes.CTR(iv)).encryptor()  # case: weak-cipher safe
    return {"ct": enc.update(data.encode()).hex()}


@app.post("/pin-block2")
def pin_block_safe():
    aes = PyAES.new(KEY, PyAES.MODE_GCM)  # case: weak-cipher safe
    ct, tag = aes.encrypt_and_digest(request.get_data())
    return ct + tag
