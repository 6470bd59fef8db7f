"""SDP as the `call` tests read it: m-lines with their attributes, and the
checks palaver's answers to browsers' offers must pass (issue 9)."""
import os
import re

from calltest import check

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "unit", "data", "sdp")


def load(name):
    """A captured browser SDP from tests/unit/data/sdp, with CRLF line ends."""
    with open(os.path.join(DATA, name), encoding="utf-8") as f:
        lines = [l.rstrip("\r\n") for l in f if l.strip()]
    return "\r\n".join(lines) + "\r\n"


class Media:
    def __init__(self, mline):
        parts = mline.split()
        self.kind = parts[0][2:]
        self.port = int(parts[1])
        self.formats = [int(p) for p in parts[3:] if p.isdigit()]
        self.attrs = []  # (key, value) in order

    def get(self, key):
        return [v for k, v in self.attrs if k == key]

    def first(self, key):
        values = self.get(key)
        return values[0] if values else None

    @property
    def mid(self):
        return self.first("mid")

    @property
    def direction(self):
        for d in ("sendrecv", "sendonly", "recvonly", "inactive"):
            if any(k == d for k, _ in self.attrs):
                return d
        return None

    def encoding(self, pt):
        for v in self.get("rtpmap"):
            num, _, rest = v.partition(" ")
            if num == str(pt):
                return rest.split("/")[0].upper()
        return None

    def ssrcs(self):
        return {int(v.split()[0]) for v in self.get("ssrc")}


def parse(text):
    """(session attributes, [Media]) of an SDP text."""
    session, media = [], []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.startswith("m="):
            media.append(Media(line))
        elif line.startswith("a="):
            key, _, value = line[2:].partition(":")
            (media[-1].attrs if media else session).append((key, value))
    return session, media


def session_or_media(session, m, key):
    """An attribute that may sit at session or media level (ice-ufrag,
    fingerprint...): the media's when it has one."""
    value = m.first(key)
    if value is None:
        for k, v in session:
            if k == key:
                return v
    return value


def transport(text):
    """(ice-ufrag, ice-pwd, fingerprint) of the first m-line."""
    session, media = parse(text)
    m = media[0]
    return tuple(session_or_media(session, m, k) for k in ("ice-ufrag", "ice-pwd", "fingerprint"))


def setups(text):
    """The a=setup value of each m-line (None where there is none)."""
    return [m.first("setup") for m in parse(text)[1]]


TWCC_URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"


def extmap_id(media, uri):
    """The id of `media`'s a=extmap:<id>[/<direction>] <uri>, or None."""
    for v in media.get("extmap"):
        words = v.split()
        if len(words) >= 2 and words[1] == uri:
            return int(words[0].split("/")[0])
    return None


def strip_twcc(offer):
    """`offer` without its TWCC extmap lines."""
    return re.sub(r"a=extmap:\S+ " + re.escape(TWCC_URI) + r"\r\n", "", offer)


def check_twcc(offer, answer, who="palaver"):
    """Each audio and video m-line of the answer has the TWCC extmap with
    the offer's id, and no other extmap; none at all where the offer's
    m-line has none (Firefox rejects an answer with an extension it did not
    offer)."""
    _, om = parse(offer)
    _, am = parse(answer)
    for o, a in zip(om, am):
        if a.kind not in ("audio", "video"):
            continue
        want = extmap_id(o, TWCC_URI)
        extmaps = a.get("extmap")
        if want is None:
            check(not extmaps, f"{who}: {a.kind} answers an offer without TWCC with {extmaps}")
        else:
            check(extmaps == [f"{want} {TWCC_URI}"],
                  f"{who}: {a.kind} extmaps {extmaps}, expected only {want} {TWCC_URI}")


def check_answer(offer, answer, who="palaver", directions=None):
    """palaver's answer to a browser's offer: mids as offered, sendrecv
    audio and video (or `directions`, by kind), the offer's payload types,
    every stream we send declared with a non-zero SSRC, and every
    ssrc-group FID naming two non-zero SSRCs that are declared."""
    directions = directions or {"audio": "sendrecv", "video": "sendrecv"}
    _, om = parse(offer)
    _, am = parse(answer)
    check(len(am) == len(om), f"{who}: {len(am)} m-lines in the answer, {len(om)} offered")
    for o, a in zip(om, am):
        check(a.kind == o.kind, f"{who}: m-line {a.kind} answers {o.kind}")
        check(a.mid == o.mid, f"{who}: mid {a.mid!r} answers mid {o.mid!r}")
        if a.kind not in ("audio", "video"):
            continue
        check(a.port != 0, f"{who}: the {a.kind} m-line was rejected")
        want = directions.get(a.kind)
        check(a.direction == want, f"{who}: {a.kind} is {a.direction}, expected {want}")
        check(a.formats, f"{who}: {a.kind} m-line without formats")
        pt = a.formats[0]
        check(pt in o.formats, f"{who}: {a.kind} payload type {pt} is not in the offer {o.formats}")
        check(a.encoding(pt) == o.encoding(pt),
              f"{who}: {a.kind} payload type {pt} is {a.encoding(pt)} in the answer, {o.encoding(pt)} in the offer")
        declared = a.ssrcs()
        check(0 not in declared, f"{who}: {a.kind} declares SSRC 0")
        if a.direction in ("sendrecv", "sendonly"):
            check(declared, f"{who}: {a.kind} is sent but no a=ssrc declares it")
        for group in a.get("ssrc-group"):
            words = group.split()
            check(words[0] == "FID" and len(words) == 3, f"{who}: odd ssrc-group {group!r}")
            primary, rtx = int(words[1]), int(words[2])
            check(primary != 0 and rtx != 0, f"{who}: {a.kind} a=ssrc-group:{group} names SSRC 0")
            check(primary in declared and rtx in declared,
                  f"{who}: {a.kind} a=ssrc-group:{group} names SSRCs not declared by a=ssrc ({sorted(declared)})")
    check_twcc(offer, answer, who)
    return am
