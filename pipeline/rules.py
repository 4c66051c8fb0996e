"""Cleaning rules: generic ones for every site and per-site ones, read from config/rules.toml.

Text rules drop paragraphs of the extracted text; CSS selectors (`remove_selectors`) remove
elements from the page before extraction.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cssselect import GenericTranslator, SelectorError

from pipeline.settings import ConfigError

Action = Literal["drop", "truncate"]


@dataclass(frozen=True, slots=True)
class TextRule:
    """A paragraph matching `pattern` is dropped; with action 'truncate', so is all that follows."""

    name: str
    pattern: re.Pattern[str]
    action: Action = "drop"
    max_chars: int | None = None
    """Only paragraphs up to this length can match: keeps short-line rules off real prose."""

    def matches(self, paragraph: str) -> bool:
        if self.max_chars is not None and len(paragraph) > self.max_chars:
            return False
        return self.pattern.search(paragraph) is not None


@dataclass(frozen=True, slots=True)
class RuleSet:
    generic: tuple[TextRule, ...] = ()
    sites: tuple[tuple[str, tuple[TextRule, ...]], ...] = ()
    selectors: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(domain, XPath expressions) of elements removed before extraction; domain '' is generic."""

    def xpaths_for_hosts(self, *hosts: str) -> tuple[str, ...]:
        names = {host.lower().rstrip(".") for host in hosts}
        return tuple(
            xpath
            for domain, xpaths in self.selectors
            if not domain or any(name == domain or name.endswith("." + domain) for name in names)
            for xpath in xpaths
        )

    def for_hosts(self, *hosts: str) -> tuple[TextRule, ...]:
        """Rules for pages of these hosts and their parent domains (www.presstv.ir: presstv.ir)."""
        names = {host.lower().rstrip(".") for host in hosts}
        site_rules = tuple(
            rule
            for domain, rules in self.sites
            if any(name == domain or name.endswith("." + domain) for name in names)
            for rule in rules
        )
        return site_rules + self.generic


def _rule(raw: Any, origin: str, action: Action) -> TextRule:
    if not isinstance(raw, dict) or "name" not in raw or "pattern" not in raw:
        raise ConfigError(f"{origin}: each rule needs a name and a pattern, got {raw!r}")
    try:
        pattern = re.compile(raw["pattern"], re.IGNORECASE)
    except (re.error, TypeError) as error:
        raise ConfigError(f"{origin}: rule {raw['name']!r} has a bad pattern: {error}") from None
    max_chars = raw.get("max_chars")
    if max_chars is not None and (not isinstance(max_chars, int) or max_chars <= 0):
        raise ConfigError(f"{origin}: rule {raw['name']!r}: max_chars must be a positive integer")
    return TextRule(name=str(raw["name"]), pattern=pattern, action=action, max_chars=max_chars)


def _xpaths(table: dict[str, Any], origin: str) -> tuple[str, ...]:
    xpaths = []
    for selector in table.get("remove_selectors", []):
        try:
            xpaths.append(GenericTranslator().css_to_xpath(selector))
        except (SelectorError, TypeError) as error:
            raise ConfigError(f"{origin}: bad CSS selector {selector!r}: {error}") from None
    return tuple(xpaths)


def _rules(table: dict[str, Any], origin: str) -> tuple[TextRule, ...]:
    unknown = set(table) - {"domain", "drop", "truncate", "remove_selectors"}
    if unknown:
        raise ConfigError(f"{origin}: unknown keys {sorted(unknown)}")
    return tuple(_rule(raw, origin, "drop") for raw in table.get("drop", [])) + tuple(
        _rule(raw, origin, "truncate") for raw in table.get("truncate", [])
    )


def rules_from_mapping(table: dict[str, Any], origin: str) -> RuleSet:
    generic_table = table.get("generic", {})
    generic = _rules(generic_table, f"{origin} [generic]")
    sites = []
    selectors = [("", _xpaths(generic_table, f"{origin} [generic]"))]
    for site in table.get("sites", []):
        domain = site.get("domain") if isinstance(site, dict) else None
        if not isinstance(domain, str) or not domain:
            raise ConfigError(f"{origin}: every [[sites]] entry needs a domain")
        where = f"{origin} [[sites]] {domain}"
        sites.append((domain.lower(), _rules(site, where)))
        selectors.append((domain.lower(), _xpaths(site, where)))
    return RuleSet(
        generic=generic,
        sites=tuple(sites),
        selectors=tuple((domain, xpaths) for domain, xpaths in selectors if xpaths),
    )


def load_rules(path: Path) -> RuleSet:
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"rules file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    return rules_from_mapping(table, str(path))
