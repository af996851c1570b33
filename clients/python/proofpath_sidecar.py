"""Client for `proofpath gateway-sidecar`: record served calls from a Python gateway.

Standard library only. Run the sidecar on loopback next to the gateway, then after each response:

    from proofpath_sidecar import Sidecar
    sidecar = Sidecar("http://127.0.0.1:8787")
    rec = sidecar.record(model_id, request_hash, response_hash, input_tokens, output_tokens)
    # rec["callSeq"], rec["digest"]; with wait_durable=True also rec["receipt"], rec["receiptSignature"]

Hashes are 0x-prefixed 32-byte hex strings (keccak256 of the bytes the user holds). Errors from the
sidecar raise SidecarError with its HTTP status and message.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Optional


class SidecarError(Exception):
    """The sidecar refused a request (4xx) or failed (5xx); `status` and `error` say which."""

    def __init__(self, status: int, error: str, message: str):
        super().__init__(f"{status} {error}: {message}")
        self.status = status
        self.error = error
        self.message = message


class Sidecar:
    def __init__(self, base_url: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _request(self, method: str, path: str, body: Optional[dict] = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method,
                                     headers={"content-type": "application/json"} if data else {})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as res:
                return json.loads(res.read())
        except urllib.error.HTTPError as e:
            try:
                j = json.loads(e.read())
            except ValueError:
                j = {}
            raise SidecarError(e.code, j.get("error", "http_error"), j.get("message", e.reason)) from None

    def record(self, model_id: str, request_hash: str, response_hash: str, input_tokens: int,
               output_tokens: int, served_at_ms: Optional[int] = None, wait_durable: bool = False) -> dict:
        """Records one served call; with wait_durable, returns once it survives a crash, with the
        enclave's signed receipt (the evidence to hand to the user)."""
        body = {"modelId": model_id, "requestHash": request_hash, "responseHash": response_hash,
                "inputTokens": input_tokens, "outputTokens": output_tokens}
        if served_at_ms is not None:
            body["servedAt"] = served_at_ms
        return self._request("POST", "/record" + ("?wait=durable" if wait_durable else ""), body)

    def receipt(self, call_seq: int) -> dict:
        """The receipt of `call_seq` with its status, batch, header and inclusion proof once sealed."""
        return self._request("GET", f"/da/receipts/{int(call_seq)}")

    def status(self) -> dict:
        """The hook's health: chain, store, submitter."""
        return self._request("GET", "/status")
