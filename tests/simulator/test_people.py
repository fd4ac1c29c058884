"""Generated people: Vietnamese names from Faker's parts, real mobile prefixes, real banks."""

import re

from faker.providers.person.vi_VN import Provider as VietnameseNames

from market.core.text import fold
from market.simulator.people import MOBILE_PREFIXES, People
from market.vendors.services import check_bank_account
from payments.banks import bank_by_bin

MOBILE = re.compile(r"0[35789]\d{8}")
GIVEN_NAMES = {
    *VietnameseNames.first_names_male,
    *VietnameseNames.first_names_female,
    *VietnameseNames.first_names_unisex,
}


def test_names_run_family_middle_given_from_fakers_parts() -> None:
    people = People(1)
    for _ in range(500):
        person = people.person()
        parts = person.full_name.split()
        assert len(parts) >= 3
        assert parts[0] == person.family and person.family in VietnameseNames.last_names
        assert person.middle in VietnameseNames.middle_names
        assert parts[-1] == person.given and person.given in GIVEN_NAMES
        assert len(set(parts)) == len(parts)


def test_middle_names_agree_with_sex() -> None:
    source = People(4)
    people = [source.person() for _ in range(1000)]
    women = {person.middle for person in people if person.female}
    men = {person.middle for person in people if not person.female}
    assert "Thị" in women and "Thị" not in men
    assert "Văn" in men and "Văn" not in women


def test_phones_are_ten_digit_vietnamese_mobiles() -> None:
    people = People(5)
    phones = [people.phone() for _ in range(1000)]
    assert all(MOBILE.fullmatch(phone) and phone[:3] in MOBILE_PREFIXES for phone in phones)
    assert len({phone[:3] for phone in phones}) > 20


def test_bank_accounts_are_at_directory_banks_and_pass_vendor_checks() -> None:
    people = People(6)
    for _ in range(500):
        person, phone = people.person(), people.phone()
        account = people.bank_account(person, phone)
        assert bank_by_bin(account.bank_bin) is not None
        check_bank_account(account.bank_bin, account.number)
        assert account.holder == fold(person.full_name).upper()
        assert account.holder.isascii() and account.holder.isupper() and len(account.holder) <= 50


def test_the_same_seed_gives_the_same_people() -> None:
    def draw(seed: int) -> list[object]:
        people = People(seed)
        return [(people.person(), people.phone()) for _ in range(50)]

    assert draw(7) == draw(7)
    assert draw(7) != draw(8)
