"""Customer ids from Stripe checkout names (issue 31): readable ASCII, refused when no readable id
exists, distinct when two names slug alike. Expected ids are written by hand."""
from __future__ import annotations

import shutil

import pytest

from business_events import checkout_event
from compiler.business.onboard import OnboardError, onboard
from conftest import REPO, run_clawtex


@pytest.fixture
def brepo(repo):
    shutil.copytree(REPO / "billing", repo / "billing")
    return repo


def _checkout(name: str, n: int) -> dict:
    return checkout_event(event_id=f"evt_Names{n:06d}", customer=f"cus_Names{n:06d}", clawtex_id="",
                          display_name=name, session=f"cs_test_names{n}")


def test_umlauts_are_transliterated_not_dropped(brepo):
    result = onboard(brepo, _checkout("Zürich Zahnärzte GmbH", 1))
    assert result.customer_id == "zurich-zahnarzte-gmbh"
    assert (brepo / "customers" / "zurich-zahnarzte-gmbh.yaml").exists()
    assert run_clawtex(brepo, "validate").returncode == 0


def test_two_names_that_slug_alike_get_distinct_ids(brepo):
    first = onboard(brepo, _checkout("Zürich Zahnärzte GmbH", 2)).customer_id
    second = onboard(brepo, _checkout("Zurich Zahnarzte GmbH", 3)).customer_id
    third = onboard(brepo, _checkout("ZÜRICH zahnärzte gmbh!", 4)).customer_id
    assert (first, second, third) == ("zurich-zahnarzte-gmbh", "zurich-zahnarzte-gmbh-2", "zurich-zahnarzte-gmbh-3")
    # each file still belongs to its own Stripe customer
    assert "cus_Names000003" in (brepo / "customers" / "zurich-zahnarzte-gmbh-2.yaml").read_text()
    assert run_clawtex(brepo, "validate").returncode == 0


def test_a_name_without_latin_letters_is_refused_with_what_to_do(brepo):
    with pytest.raises(OnboardError, match=r"東京デンタル.*set checkout metadata clawtex_id"):
        onboard(brepo, _checkout("東京デンタル", 5))
    assert not list(brepo.glob("customers/*dong*"))
    # with clawtex_id the same checkout goes through, display name kept as written
    event = _checkout("東京デンタル", 6)
    event["data"]["object"]["metadata"]["clawtex_id"] = "tokyo-dental"
    assert onboard(brepo, event).customer_id == "tokyo-dental"
    assert "displayName: 東京デンタル" in (brepo / "customers" / "tokyo-dental.yaml").read_text()


@pytest.mark.parametrize("name,expected", [
    ("Café Zoë & Søn AB", "cafe-zoe-son-ab"),
    ("Łódź Dental sp. z o.o.", "lodz-dental-sp-z-o-o"),
    ("Стоматология Плюс", "stomatologiia-plius"),     # Cyrillic has one standard romanisation
])
def test_readable_scripts_transliterate(brepo, name, expected):
    assert onboard(brepo, _checkout(name, 7)).customer_id == expected


@pytest.mark.parametrize("name", ["3M Dental", "Shared Services", "!!!"])
def test_names_that_give_no_usable_id_ask_for_clawtex_id(brepo, name):
    with pytest.raises(OnboardError, match="clawtex_id"):
        onboard(brepo, _checkout(name, 8))
