"""Links in replies: only the store's own domains may appear."""

from __future__ import annotations

import re

_LINK = re.compile(
    r"(?:(?:https?|ftp)://|www\.)[^\s<>\"')\]]+"
    r"|\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,24})(?::\d+)?(?:/[^\s<>\"')\]]*)?",
    re.IGNORECASE,
)
_NOT_DOMAINS = re.compile(r"^\S+\.(?:jpg|jpeg|png|gif|pdf|txt|csv|json|py|md)$", re.IGNORECASE)
LINK_REMOVED = "[link removed]"


def _host(link: str) -> str:
    host = re.sub(r"^(?:(?:https?|ftp)://)", "", link, flags=re.IGNORECASE)
    host = host.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    host = host.rsplit("@", 1)[-1].split(":", 1)[0]
    return host.lower().rstrip(".")


class LinkAllowList:
    """Remove links whose host is not one of `domains` (or a subdomain of one)."""

    def __init__(self, domains: tuple[str, ...] | list[str]) -> None:
        self.domains = tuple(d.lower().lstrip(".") for d in domains)

    def allowed(self, link: str) -> bool:
        """Whether `link` points to an allowed domain."""
        host = _host(link)
        return any(host == d or host.endswith("." + d) for d in self.domains)

    def find_disallowed(self, text: str) -> list[re.Match[str]]:
        """Return the link matches in `text` that are not allowed (e-mails are not links)."""
        found = []
        for m in _LINK.finditer(text):
            start = m.start()
            touches_at = text[m.end() : m.end() + 1] == "@" or (start and text[start - 1] == "@")
            if touches_at or "@" in m.group(0).split("/", 1)[0]:
                continue  # the domain of an e-mail address
            if _NOT_DOMAINS.match(m.group(0)) or not self._looks_like_host(m.group(0)):
                continue
            if not self.allowed(m.group(0).rstrip(".,;:!?")):
                found.append(m)
        return found

    @staticmethod
    def _looks_like_host(link: str) -> bool:
        host = _host(link)
        # "e.g" or "3.5" are not hosts; a host needs a letter TLD of 2+ chars.
        return bool(re.search(r"\.[a-z]{2,24}$", host)) and not re.fullmatch(r"[\d.]+", host)

    def strip(self, text: str) -> tuple[str, int]:
        """Replace disallowed links with a marker; return the text and how many were removed."""
        matches = self.find_disallowed(text)
        for m in reversed(matches):
            link = m.group(0)
            trailing = link[len(link.rstrip(".,;:!?")) :]
            text = f"{text[: m.start()]}{LINK_REMOVED}{trailing}{text[m.end() :]}"
        return text, len(matches)
