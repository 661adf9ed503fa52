"""A real SMTP server for comms-server's tests (aiosmtpd), listening on 127.0.0.1:<port>.

Every accepted message is written as it arrived to <outdir>/<time>-<queue id>.eml, with its
envelope in <same name>.env (JSON). A recipient whose local part starts with "reject" is refused
with a 550, like a real relay refusing an unknown user. The final answer to DATA carries a queue
id, as Postfix does. Parsing is left to `--parse`, so the server stays fast enough to measure
the sender's throughput rather than its own.

usage: smtp_server.py <outdir> <port>   serve
       smtp_server.py --parse <outdir>  print every captured message as JSON (headers, envelope,
                                        decoded text and HTML parts, raw source), oldest first
"""

import email
import json
import os
import sys
import threading
import time
import uuid
from email import policy

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, outdir):
        self.outdir = outdir

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.split("@")[0].lower().startswith("reject"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown in local recipient table" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        queue_id = uuid.uuid4().hex[:12].upper()
        base = os.path.join(self.outdir, "%020d-%s" % (time.time_ns(), queue_id))
        with open(base + ".env", "w", encoding="utf-8") as f:
            json.dump({"queue_id": queue_id, "mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}, f)
        with open(base + ".tmp", "wb") as f:
            f.write(raw)
        os.replace(base + ".tmp", base + ".eml")
        return "250 2.0.0 Ok: queued as %s" % queue_id


def parse(outdir):
    out = []
    for name in sorted(n for n in os.listdir(outdir) if n.endswith(".eml")):
        base = os.path.join(outdir, name[: -len(".eml")])
        with open(base + ".eml", "rb") as f:
            raw = f.read()
        with open(base + ".env", encoding="utf-8") as f:
            summary = json.load(f)
        message = email.message_from_bytes(raw, policy=policy.default)
        text = html = None
        for part in message.walk():
            if part.is_multipart():
                continue
            kind = part.get_content_type()
            if kind == "text/plain" and text is None:
                text = part.get_content()
            elif kind == "text/html" and html is None:
                html = part.get_content()
        summary.update(
            headers=[[k, str(v)] for k, v in message.items()],
            content_type=message.get_content_type(),
            text=text,
            html=html,
            raw=raw.decode("utf-8", "replace"),
        )
        out.append(summary)
    json.dump(out, sys.stdout)


def main():
    if sys.argv[1] == "--parse":
        parse(sys.argv[2])
        return
    outdir, port = sys.argv[1], int(sys.argv[2])
    controller = Controller(Handler(outdir), hostname="127.0.0.1", port=port)
    controller.start()
    print("READY", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
