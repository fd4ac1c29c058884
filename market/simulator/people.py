"""Generated people: Vietnamese names, mobile numbers and bank accounts, reproducible by seed.

Names are built from Faker vi_VN's name parts in the Vietnamese order (family, middle, given):
its whole `name()` puts them in Western order and adds honorifics (domain.md §4.1).
"""

from dataclasses import dataclass

from faker import Faker
from faker.providers.person.vi_VN import Provider as VietnameseNames

from market.core.text import fold
from payments.banks import find_bank

# Faker's vi_VN middle names carry no sex; these are the ones tied to one (Thị for women,
# Văn for men...). The rest (Xuân, Bảo, Hoàng...) are given to both.
FEMALE_ONLY_MIDDLES = frozenset({"Thị", "Mai", "Mai Bảo"})
MALE_ONLY_MIDDLES = frozenset({"Văn", "Đức", "Trí", "Thế", "Tấn", "Phú", "Hữu", "Quang"})
UNISEX_GIVEN_SHARE = 0.2

# Mobile prefixes since the 2018 move from 11 to 10 digits: Viettel, VinaPhone, MobiFone,
# Vietnamobile, Gmobile, Itel and Reddi. All match the vendor schema's 0[35789] rule.
MOBILE_PREFIXES = (
    *("032", "033", "034", "035", "036", "037", "038", "039", "086", "096", "097", "098"),
    *("081", "082", "083", "084", "085", "088", "091", "094"),
    *("070", "076", "077", "078", "079", "089", "090", "093"),
    *("052", "056", "058", "092"),
    *("059", "099"),
    "087",
    "055",
)

# Bank code (as in payments/data/banks.csv) -> the lengths of the account numbers it issues,
# and how likely a vendor banks there: Agribank, the rural bank, most [assumption: domain.md has
# no market shares]. Viettel Money numbers a wallet by its owner's phone number.
ACCOUNT_FORMATS = {
    "VBA": ((13,), 4),
    "VCB": ((10, 13), 2),
    "ICB": ((12,), 2),
    "BIDV": ((12, 14), 2),
    "MB": ((9, 10, 11, 12, 13), 2),
    "TCB": ((14,), 1),
    "LPB": ((12,), 1),
    "VPB": ((8, 9), 1),
    "ACB": ((7, 8), 1),
    "TPB": ((11,), 1),
    "SHB": ((10, 13), 1),
    "VTLMONEY": ((10,), 1),
}
PHONE_NUMBERED = frozenset({"VTLMONEY"})


@dataclass(frozen=True)
class Person:
    """A person's name in the Vietnamese order, and whether it is a woman's."""

    family: str
    middle: str
    given: str
    female: bool

    @property
    def full_name(self) -> str:
        """Return the name as written: "Nông Thị Hoa"."""
        return f"{self.family} {self.middle} {self.given}"

    @property
    def bank_name(self) -> str:
        """Return the name as banks print it, upper case without diacritics: "NONG THI HOA"."""
        return fold(self.full_name).upper()


@dataclass(frozen=True)
class BankAccount:
    """An account at a bank of the directory, as a vendor would register it."""

    bank_bin: str
    number: str
    holder: str


class People:
    """A seeded source of people: the same seed gives the same people in the same order."""

    def __init__(self, seed: int) -> None:
        self._faker = Faker("vi_VN")
        self._faker.seed_instance(seed)
        self._random = self._faker.random
        middles = VietnameseNames.middle_names
        self._middles = {
            True: [name for name in middles if name not in MALE_ONLY_MIDDLES],
            False: [name for name in middles if name not in FEMALE_ONLY_MIDDLES],
        }
        self._bank_codes = list(ACCOUNT_FORMATS)
        self._bank_weights = [weight for _, weight in ACCOUNT_FORMATS.values()]

    def person(self) -> Person:
        """Return a new person, with no part of the name repeated."""
        female = self._random.random() < 0.5
        while True:
            family = self._faker.last_name()
            middle = self._random.choice(self._middles[female])
            if self._random.random() < UNISEX_GIVEN_SHARE:
                given = self._faker.first_name_unisex()
            else:
                given = self._faker.first_name_female() if female else self._faker.first_name_male()
            words = [family, *middle.split(), given]
            if len(set(words)) == len(words):
                return Person(family, middle, given, female)

    def phone(self) -> str:
        """Return a 10-digit Vietnamese mobile number."""
        return self._random.choice(MOBILE_PREFIXES) + self._digits(7)

    def bank_account(self, holder: Person, phone: str) -> BankAccount:
        """Return an account of `holder`'s at a bank of the directory."""
        code = self._random.choices(self._bank_codes, self._bank_weights)[0]
        if code in PHONE_NUMBERED:
            number = phone
        else:
            number = self._digits(self._random.choice(ACCOUNT_FORMATS[code][0]))
        return BankAccount(_bin(code), number, holder.bank_name)

    def _digits(self, length: int) -> str:
        return "".join(self._random.choices("0123456789", k=length))


def _bin(code: str) -> str:
    """Return the BIN of a bank of the directory, or fail loudly if the directory lost it."""
    bank = find_bank(code)
    if bank is None:
        raise LookupError(f"The bank directory has no bank {code!r}.")
    return bank.bin
