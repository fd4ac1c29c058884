import binascii
import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from payments.vietqr import (
    Initiation,
    Problem,
    Service,
    TipMode,
    VietQR,
    VietQRError,
    decode,
    encode,
    normalize_text,
)

SPEC_STATIC_CARD = (
    "00020101021138600010A00000072701300006970403011697040311012345670208QRIBFTTC"
    "53037045802VN63044F52"
)
SPEC_DYNAMIC_ACCOUNT = (
    "00020101021238570010A00000072701270006970403011300110123456780208QRIBFTTA"
    "530370454061800005802VN62340107NPS68690819thanh toan don hang63042E2E"
)
SPEC_DYNAMIC_CARD = (
    "00020101021238600010A00000072701300006970403011697040311012345670208QRIBFTTC"
    "530370454061800005802VN62340107NPS68690819thanh toan don hang6304A203"
)
SPEC_EXAMPLES = [
    (SPEC_STATIC_CARD, VietQR(bin="970403", account="9704031101234567", service=Service.TO_CARD)),
    (
        SPEC_DYNAMIC_ACCOUNT,
        VietQR(
            bin="970403",
            account="0011012345678",
            amount=180000,
            bill_number="NPS6869",
            purpose="thanh toan don hang",
        ),
    ),
    (
        SPEC_DYNAMIC_CARD,
        VietQR(
            bin="970403",
            account="9704031101234567",
            service=Service.TO_CARD,
            amount=180000,
            bill_number="NPS6869",
            purpose="thanh toan don hang",
        ),
    ),
]
ACCOUNT_INFO = "38570010A00000072701270006970403011300110123456780208QRIBFTTA"


def tlv(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def with_crc(body: str) -> str:
    """Append tag 63 with a correct CRC, computed independently of the module under test."""
    body += "6304"
    return body + f"{binascii.crc_hqx(body.encode(), 0xFFFF):04X}"


def payload(*objects: str, head: str = "000201010212") -> str:
    return with_crc(head + "".join(objects))


def problems_of(text: str) -> tuple[Problem, ...]:
    with pytest.raises(VietQRError) as caught:
        decode(text)
    return caught.value.problems


def tags_of(text: str) -> set[str]:
    return {problem.tag for problem in problems_of(text)}


def encode_problems(qr: VietQR) -> tuple[Problem, ...]:
    with pytest.raises(VietQRError) as caught:
        encode(qr)
    return caught.value.problems


@pytest.mark.parametrize(("text", "qr"), SPEC_EXAMPLES)
def test_spec_examples_encode_exactly(text, qr):
    assert encode(qr) == text


@pytest.mark.parametrize(("text", "qr"), SPEC_EXAMPLES)
def test_spec_examples_decode_to_their_fields(text, qr):
    assert decode(text) == qr


def test_point_of_initiation_follows_amount():
    static, dynamic = decode(SPEC_STATIC_CARD), decode(SPEC_DYNAMIC_ACCOUNT)
    assert static.point_of_initiation is Initiation.STATIC
    assert dynamic.point_of_initiation is Initiation.DYNAMIC
    assert static.amount is None and dynamic.amount == 180000
    assert decode(SPEC_DYNAMIC_ACCOUNT).account == "0011012345678"  # leading zeros kept


# --- round trips ---------------------------------------------------------------------------------

# Explicit alphabets keep Hypothesis from building its Unicode tables, seconds on a fresh checkout.
ANS = "".join(map(chr, range(0x20, 0x7F)))
# Precomposed letters only, so any string of them is already in NFC.
UNICODE = ANS + "ăâđêôơưáàảãạấầẩẫậắằẳẵặếềểễệốồổỗộớờởỡợứừửữựĐƯƠÁÀẢÃẠ€中😀\n\t"
FUZZ = "0123456789" * 4 + "ABQRVN. ,-đ\n"


def ans(max_size: int) -> st.SearchStrategy[str]:
    return st.text(ANS, min_size=1, max_size=max_size)


def nfc(max_size: int) -> st.SearchStrategy[str]:
    return st.text(UNICODE, min_size=1, max_size=max_size)


ADDITIONAL = [
    "bill_number",
    "mobile",
    "store_label",
    "loyalty_number",
    "reference_label",
    "customer_label",
    "terminal_label",
    "purpose",
]
TOP_EXTRA_TAGS = [f"{n:02d}" for n in (*range(2, 38), *range(39, 52), *range(65, 100))]


@st.composite
def vietqrs(draw) -> VietQR:
    fields = {
        "bin": draw(st.text("0123456789", min_size=6, max_size=6)),
        "account": draw(ans(19)),
        "service": draw(st.sampled_from(Service)),
        "amount": draw(st.none() | st.integers(1, 10**13 - 1)),
        "mcc": draw(st.none() | st.text("0123456789", min_size=4, max_size=4)),
        "merchant_name": draw(st.none() | ans(25)),
        "merchant_city": draw(st.none() | ans(15)),
        "postal_code": draw(st.none() | ans(10)),
        "consumer_data_request": draw(st.none() | st.sampled_from(["A", "ME", "EA", "AME"])),
    }
    # At most three 25-character sub-fields keep tag 62 within its 99 characters.
    for name in draw(st.lists(st.sampled_from(ADDITIONAL), max_size=3, unique=True)):
        fields[name] = draw(ans(25))
    tip = draw(st.sampled_from([None, *TipMode]))
    if tip is not None:
        fields["tip_mode"] = tip
    if tip is TipMode.FIXED:
        fields["fee_fixed"] = draw(st.integers(1, 10**13 - 1))
    if tip is TipMode.PERCENTAGE:
        fields["fee_percent"] = draw(st.sampled_from(["00.01", "5", "7.5", "10.25", "99.99"]))
    if draw(st.booleans()):
        fields["language"] = draw(st.sampled_from(["vi", "en", "ZH"]))
        fields["alt_merchant_name"] = draw(nfc(25))
        fields["alt_merchant_city"] = draw(st.none() | nfc(15))
    tags = draw(st.lists(st.sampled_from(TOP_EXTRA_TAGS), max_size=2, unique=True))
    extra = [(tag, draw(nfc(99))) for tag in tags]
    used = sum(4 + len(fields[name]) for name in ADDITIONAL if name in fields)
    if fields["consumer_data_request"] is not None:
        used += 4 + len(fields["consumer_data_request"])
    if used <= 99 - 5 and draw(st.booleans()):
        extra.append(("62.50", draw(ans(min(25, 99 - 4 - used)))))
    fields["extra"] = tuple(extra)
    return VietQR(**fields)


@given(vietqrs())
@example(SPEC_EXAMPLES[1][1])
def test_decode_inverts_encode(qr):
    assert decode(encode(qr)) == qr


@given(vietqrs())
def test_encode_inverts_decode(qr):
    text = encode(qr)
    assert encode(decode(text)) == text


@given(st.text(FUZZ, max_size=300) | st.text(UNICODE, max_size=100))
@example("0002")
@example("000201")
@example("00020101021")
@example("6304")
def test_decode_of_any_text_returns_or_raises_vietqr_error(text):
    try:
        decode(text)
    except VietQRError as error:
        assert error.problems
        assert all(isinstance(problem, Problem) for problem in error.problems)


@given(
    st.sampled_from([p for p, _ in SPEC_EXAMPLES]),
    st.integers(0, 130),
    st.text(FUZZ, min_size=0, max_size=3),
)
def test_damaged_payloads_with_valid_crc_never_leak_other_errors(text, position, insert):
    body = text[:-8]
    damaged = with_crc(body[:position] + insert + body[position + len(insert) // 2 :])
    try:
        decode(damaged)
    except VietQRError as error:
        assert error.problems


# --- decoding rules ------------------------------------------------------------------------------


def test_bad_crc_is_refused():
    problems = problems_of(SPEC_DYNAMIC_ACCOUNT[:-4] + "2E2F")
    assert [p.tag for p in problems] == ["63"]
    assert "2E2F" in problems[0].message and "2E2E" in problems[0].message


def test_lower_case_crc_is_accepted():
    assert decode(SPEC_STATIC_CARD[:-4] + "4f52") == SPEC_EXAMPLES[0][1]


def test_encode_writes_upper_case_crc():
    assert encode(SPEC_EXAMPLES[0][1]).endswith("4F52")


@pytest.mark.parametrize("crc", ["4F5", "4F5G", ""])
def test_malformed_crc_is_refused(crc):
    assert "63" in tags_of(SPEC_STATIC_CARD[:-4] + crc)


@pytest.mark.parametrize(("amount", "expected"), [("50000", 50000), ("50000.", 50000)])
def test_whole_dong_amounts_are_accepted(amount, expected):
    assert decode(payload(ACCOUNT_INFO, "5303704", tlv("54", amount), "5802VN")).amount == expected


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("50 000", "separators"),
        ("50,000", "separators"),
        ("500.5", "decimals"),
        ("50000.00", "decimals"),
        ("0", "greater than zero"),
        ("0.", "greater than zero"),
        ("-5000", "separators"),
        ("12345678901234", "at most 13"),
        ("٥٠٠٠", "separators"),  # Arabic-Indic digits are digits to str.isdigit, not to EMV
    ],
)
def test_malformed_amounts_are_refused(amount, reason):
    problems = problems_of(payload(ACCOUNT_INFO, "5303704", tlv("54", amount), "5802VN"))
    assert [(p.tag, p.field) for p in problems] == [("54", "amount")]
    assert reason in problems[0].message


def test_missing_country_is_refused():
    problems = problems_of(payload(ACCOUNT_INFO, "5303704", "540550000"))
    assert [(p.tag, p.message) for p in problems] == [("58", "is missing")]


@pytest.mark.parametrize(
    ("objects", "tag"),
    [
        (("5303840", "540550000", "5802VN"), "53"),
        (("5303704", "540550000", "5802US"), "58"),
        (("5303704", "540550000", "5802VN", "5203ABC"), "52"),
        (("540550000", "5802VN"), "53"),
    ],
)
def test_currency_country_and_mcc_are_checked(objects, tag):
    assert tags_of(payload(ACCOUNT_INFO, *objects)) == {tag}


def test_wrong_guid_is_refused():
    account_info = ACCOUNT_INFO.replace("A000000727", "A000000728")
    text = payload(account_info, "5303704", "5802VN", head="000201010211")
    assert tags_of(text) == {"38.00"}


def test_truncated_nested_field_from_spec_example_6_1_1_is_refused():
    # Sub-field 01 declares 12 characters but the account has 13 digits: the last one is left over.
    beneficiary = "0006970403" + "0112" + "0011012345678"
    account_info = tlv("38", "0010A000000727" + tlv("01", beneficiary) + "0208QRIBFTTA")
    text = payload(account_info, "5303704", "5802VN", head="000201010211")
    problems = problems_of(text)
    assert [p.tag for p in problems] == ["38.01"]
    assert "trailing" in problems[0].message


def test_nested_length_past_its_template_is_refused():
    beneficiary = "0006970403" + "0114" + "0011012345678"
    account_info = tlv("38", "0010A000000727" + tlv("01", beneficiary) + "0208QRIBFTTA")
    problems = problems_of(payload(account_info, "5303704", "5802VN", head="000201010211"))
    assert [p.tag for p in problems] == ["38.01.01"]
    assert "truncated" in problems[0].message


def test_vnpay_qr_is_not_a_vietqr_code():
    vnpay = tlv("26", "0010A000000775" + "0110" + "0100123456")
    problems = problems_of(payload(vnpay, "52045812", "5303704", "5802VN", head="000201010211"))
    assert [p.tag for p in problems] == ["38"]
    assert "not a VietQR code" in problems[0].message
    assert "VNPAY-QR" in problems[0].message


def test_other_networks_beside_napas_are_kept():
    vnpay = tlv("26", "0010A000000775" + "0110" + "0100123456")
    qr = decode(payload(vnpay, ACCOUNT_INFO, "5303704", "540550000", "5802VN"))
    assert qr.extra == (("26", vnpay[4:]),) and qr.amount == 50000


def test_unknown_additional_data_subtags_are_kept():
    qr = decode(payload(ACCOUNT_INFO, "5303704", "540550000", "5802VN", "62120108ORD12345"))
    assert qr.bill_number == "ORD12345"
    text = payload(ACCOUNT_INFO, "5303704", "540550000", "5802VN", tlv("62", "5006abcdef"))
    assert decode(text).extra == (("62.50", "abcdef"),)
    assert encode(decode(text)) == text


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        (SPEC_STATIC_CARD + "00", "payload"),  # trailing bytes after the CRC
        (SPEC_STATIC_CARD[:40], "38"),  # missing bytes
        (SPEC_STATIC_CARD + "\n", "payload"),
    ],
)
def test_trailing_or_missing_bytes_are_refused(text, tag):
    assert tag in tags_of(text)


def test_every_problem_is_reported_at_once():
    text = payload(ACCOUNT_INFO, "5303840", tlv("54", "1,000"), "5802US", tlv("59", "x" * 26))
    text = text[:-4] + "0000"
    assert tags_of(text) == {"53", "54", "58", "59", "63"}


@pytest.mark.parametrize(
    ("text", "tag", "words"),
    [
        (
            payload(ACCOUNT_INFO, "5303704", "5303704", "540550000", "5802VN"),
            "53",
            "more than once",
        ),
        (with_crc("010212000201" + ACCOUNT_INFO + "5303704540550000" + "5802VN"), "00", "first"),
        (payload(ACCOUNT_INFO, "5303704", "5802VN"), "01", "must carry an amount"),
        (
            payload(ACCOUNT_INFO, "5303704", "540550000", "5802VN", head="000201010211"),
            "01",
            "must not carry an amount",
        ),
        (
            payload(ACCOUNT_INFO, "5303704", "540550000", "5802VN", head="000201010213"),
            "01",
            "11 or 12",
        ),
        (
            payload(ACCOUNT_INFO, "5303704", "540550000", "5802VN", head="000202010212"),
            "00",
            "must be 01",
        ),
        (payload(ACCOUNT_INFO, "5303704", "540550000", "5800VN"), "58", "bad length"),
        (
            payload(ACCOUNT_INFO, "5303704", "5405500005802VN").replace("5405", "5A05"),
            "payload",
            "bad ID",
        ),
    ],
)
def test_framing_and_header_rules(text, tag, words):
    messages = [p.message for p in problems_of(text) if p.tag == tag]
    assert any(words in message for message in messages), messages


def test_crc_must_be_the_last_object():
    body = "000201010211" + ACCOUNT_INFO + "5303704"
    crc = f"{binascii.crc_hqx((body + '6304').encode(), 0xFFFF):04X}"
    problems = problems_of(body + "6304" + crc + "5802VN")
    assert {p.tag for p in problems} == {"63"}


@pytest.mark.parametrize(
    ("objects", "tag"),
    [
        (("550202",), "56"),
        (("550203", "5703101"), "57"),
        (("550203", "5605100"), "56"),
        (("5605100",), "55"),
        (("550204",), "55"),
        (("550203", "570500.00"), "57"),
        (("550203", "5706100.00"), "57"),
        (("550202", "5603abc"), "56"),
    ],
)
def test_tip_and_fee_rules(objects, tag):
    base = (ACCOUNT_INFO, "5303704", "540550000")
    assert tag in tags_of(payload(*base, *objects, "5802VN"))


def test_tip_and_fee_values_are_read():
    base = (ACCOUNT_INFO, "5303704", "540550000")
    fixed = decode(payload(*base, "550202", "56045000", "5802VN"))
    assert (fixed.tip_mode, fixed.fee_fixed) == (TipMode.FIXED, 5000)
    percent = decode(payload(*base, "550203", "570412.5", "5802VN"))
    assert (percent.tip_mode, percent.fee_percent) == (TipMode.PERCENTAGE, "12.5")
    assert decode(payload(*base, "550201", "5802VN")).tip_mode is TipMode.PROMPT


@pytest.mark.parametrize(
    ("account_info", "tag"),
    [
        (
            tlv("38", "0010A000000727" + tlv("01", "000697040301130011012345678") + "0208QRIBFTTX"),
            "38.02",
        ),
        (tlv("38", "0010A000000727" + tlv("01", "000597040301130011012345678")), "38.01.00"),
        (tlv("38", "0010A000000727" + tlv("01", "0006970403") + "0208QRIBFTTA"), "38.01.01"),
        (tlv("38", "0010A000000727" + tlv("01", "0006970403" + tlv("01", "1" * 20))), "38.01.01"),
        (tlv("38", "0010A000000727" + "0208QRIBFTTA"), "38.01"),
        (tlv("38", tlv("01", "000697040301130011012345678")), "38.00"),
        (tlv("38", "0010A000000727" + tlv("01", "000697040301130011012345678") + "0301X"), "38.03"),
    ],
)
def test_merchant_account_rules(account_info, tag):
    assert tag in tags_of(payload(account_info, "5303704", "540550000", "5802VN"))


@pytest.mark.parametrize(
    ("additional", "tag"),
    [
        (tlv("08", "x" * 26), "62.08"),
        (tlv("09", "AX"), "62.09"),
        (tlv("09", "AA"), "62.09"),
        (tlv("00", "x"), "62.00"),
        ("0108ORD1", "62.01"),  # the framing breaks inside the template
    ],
)
def test_additional_data_rules(additional, tag):
    text = payload(ACCOUNT_INFO, "5303704", "540550000", "5802VN", tlv("62", additional))
    assert tag in tags_of(text)


def test_additional_data_must_be_ascii():
    text = payload(ACCOUNT_INFO, "5303704", "540550000", "5802VN", tlv("62", "0803đơn"))
    assert tags_of(text) == {"62"}


@pytest.mark.parametrize(
    ("template", "tag"),
    [
        (tlv("01", "Chợ Bến Thành"), "64.00"),
        (tlv("00", "vie") + tlv("01", "Chợ"), "64.00"),
        (tlv("00", "vi"), "64.01"),
        (tlv("00", "vi") + tlv("01", "x" * 26), "64.01"),
        (tlv("00", "vi") + tlv("01", "x") + tlv("02", "y" * 16), "64.02"),
        (tlv("00", "vi") + tlv("01", "x") + tlv("03", "y"), "64.03"),
    ],
)
def test_language_template_rules(template, tag):
    text = payload(ACCOUNT_INFO, "5303704", "540550000", "5802VN", tlv("64", template))
    assert tag in tags_of(text)


def test_language_template_carries_vietnamese():
    template = tlv("00", "vi") + tlv("01", "Sạp Cô Hồng") + tlv("02", "Hà Nội")
    qr = decode(payload(ACCOUNT_INFO, "5303704", "540550000", "5802VN", tlv("64", template)))
    assert (qr.language, qr.alt_merchant_name, qr.alt_merchant_city) == (
        "vi",
        "Sạp Cô Hồng",
        "Hà Nội",
    )


def test_empty_payload_is_refused():
    assert tags_of("") == {"payload"}


def test_error_is_a_value_error_naming_tags():
    with pytest.raises(ValueError, match=r"63: CRC is 2E2F"):
        decode(SPEC_DYNAMIC_ACCOUNT[:-4] + "2E2F")


# --- encoding rules ------------------------------------------------------------------------------


def test_diacritics_are_stripped_before_encoding():
    qr = VietQR(bin="970436", account="0011", amount=5000, purpose="Thanh toán đơn hàng")
    assert decode(encode(qr)).purpose == "Thanh toan don hang"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thanh toán đơn hàng", "Thanh toan don hang"),
        (unicodedata.normalize("NFD", "Nguyễn Thị Hồng"), "Nguyen Thi Hong"),
        ("ĐẶNG VĂN ĐỨC", "DANG VAN DUC"),
        ("plain", "plain"),
    ],
)
def test_normalize_text(text, expected):
    assert normalize_text(text) == expected


def test_too_long_text_is_refused_not_truncated():
    qr = VietQR(bin="970436", account="0011", purpose="Thanh toán đơn hàng số 1234567")
    problems = encode_problems(qr)
    assert [(p.field, p.tag) for p in problems] == [("purpose", "62.08")]
    assert "30 characters" in problems[0].message


def test_26_character_purpose_is_refused_and_25_accepted():
    assert encode_problems(VietQR(bin="970436", account="1", purpose="x" * 26))[0].tag == "62.08"
    assert decode(encode(VietQR(bin="970436", account="1", purpose="x" * 25))).purpose == "x" * 25


@pytest.mark.parametrize(
    ("field", "value", "tag"),
    [
        ("merchant_name", "N" * 26, "59"),
        ("merchant_city", "C" * 16, "60"),
        ("postal_code", "1" * 11, "61"),
    ],
)
def test_top_level_text_limits(field, value, tag):
    problems = encode_problems(VietQR(bin="970436", account="1", **{field: value}))
    assert [(p.field, p.tag) for p in problems] == [(field, tag)]


@pytest.mark.parametrize("amount", [0, -1, 10**13, True, 1.5, "5000"])
def test_encode_refuses_bad_amounts(amount):
    problems = encode_problems(VietQR(bin="970436", account="1", amount=amount))
    assert [(p.field, p.tag) for p in problems] == [("amount", "54")]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"bin": "97043"}, "bin"),
        ({"bin": "97043a"}, "bin"),
        ({"bin": 970436}, "bin"),
        ({"account": 12}, "account"),
        ({"service": None}, "service"),
        ({"service": ["QRIBFTTA"]}, "service"),
        ({"account": "1" * 20}, "account"),
        ({"account": ""}, "account"),
        ({"account": "số"}, "account"),
        ({"service": "QRIBFTTX"}, "service"),
        ({"mcc": "581"}, "mcc"),
        ({"purpose": ""}, "purpose"),
        ({"purpose": "thanh toán €"}, "purpose"),
        ({"purpose": 5}, "purpose"),
        ({"tip_mode": TipMode.FIXED}, "fee_fixed"),
        ({"tip_mode": TipMode.PERCENTAGE}, "fee_percent"),
        ({"tip_mode": TipMode.PERCENTAGE, "fee_percent": "100"}, "fee_percent"),
        ({"tip_mode": TipMode.PERCENTAGE, "fee_percent": "0.00"}, "fee_percent"),
        ({"tip_mode": TipMode.PROMPT, "fee_fixed": 5}, "fee_fixed"),
        ({"fee_fixed": 5}, "tip_mode"),
        ({"tip_mode": "04"}, "tip_mode"),
        ({"consumer_data_request": "AMEE"}, "consumer_data_request"),
        ({"language": "vi"}, "alt_merchant_name"),
        ({"alt_merchant_name": "Sạp"}, "language"),
        ({"alt_merchant_city": "Huế"}, "alt_merchant_city"),
        ({"extra": (("38", "x"),)}, "extra"),
        ({"extra": (("26", "x"), ("26", "y"))}, "extra"),
        ({"extra": (("62.05", "x"),)}, "extra"),
        ({"extra": (("26", "x" * 100),)}, "extra"),
        ({"extra": (("62.50", "đ"),)}, "extra"),
        ({"extra": ["26", "x"]}, "extra"),
    ],
)
def test_encode_names_the_bad_field(fields, field):
    qr = VietQR(**{"bin": "970436", "account": "0011", **fields})
    assert field in {p.field for p in encode_problems(qr)}


def test_encode_reports_every_bad_field_at_once():
    qr = VietQR(bin="97", account="", amount=0, purpose="x" * 30, merchant_city="y" * 16)
    fields = {p.field for p in encode_problems(qr)}
    assert fields == {"bin", "account", "amount", "purpose", "merchant_city"}


def test_additional_data_over_99_characters_is_refused():
    qr = VietQR(
        bin="970436",
        account="1",
        bill_number="b" * 25,
        store_label="s" * 25,
        terminal_label="t" * 25,
        purpose="p" * 25,
    )
    assert [p.tag for p in encode_problems(qr)] == ["62"]


def test_extra_objects_are_written_back():
    qr = VietQR(bin="970436", account="1", extra=(("26", "0010A000000775"), ("62.50", "x")))
    text = encode(qr)
    assert tlv("26", "0010A000000775") + "6304" in text
    assert tlv("62", "5001x") in text
    assert decode(text) == qr
