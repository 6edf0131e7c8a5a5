"""Market catalogue: a realistic default set of KRW markets, or generated codes for load tests."""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

CODE_PATTERN = re.compile(r"^[A-Z0-9]+-[A-Z0-9]+$")


@dataclass(frozen=True)
class Market:
    code: str
    korean_name: str
    english_name: str
    base_price: Decimal  # starting price in KRW; the generator walks from here


# (code, korean name, english name, typical price in KRW)
_DEFAULT_MARKETS: tuple[tuple[str, str, str, str], ...] = (
    ("KRW-BTC", "비트코인", "Bitcoin", "116539000"),
    ("KRW-ETH", "이더리움", "Ethereum", "3715000"),
    ("KRW-XRP", "리플", "XRP", "3120"),
    ("KRW-SOL", "솔라나", "Solana", "236500"),
    ("KRW-DOGE", "도지코인", "Dogecoin", "289"),
    ("KRW-ADA", "에이다", "Cardano", "975"),
    ("KRW-TRX", "트론", "TRON", "412"),
    ("KRW-AVAX", "아발란체", "Avalanche", "34250"),
    ("KRW-LINK", "체인링크", "Chainlink", "25760"),
    ("KRW-DOT", "폴카닷", "Polkadot", "5530"),
    ("KRW-BCH", "비트코인캐시", "Bitcoin Cash", "812000"),
    ("KRW-ETC", "이더리움클래식", "Ethereum Classic", "27590"),
    ("KRW-XLM", "스텔라루멘", "Lumens", "401"),
    ("KRW-SUI", "수이", "Sui", "4786"),
    ("KRW-HBAR", "헤데라", "Hedera", "312"),
    ("KRW-NEAR", "니어프로토콜", "NEAR Protocol", "3640"),
    ("KRW-APT", "앱토스", "Aptos", "7125"),
    ("KRW-ARB", "아비트럼", "Arbitrum", "598"),
    ("KRW-SAND", "샌드박스", "The Sandbox", "372"),
    ("KRW-SHIB", "시바이누", "Shiba Inu", "0.01723"),
    ("KRW-PEPE", "페페", "Pepe", "0.01518"),
    ("KRW-BTT", "비트토렌트", "BitTorrent", "0.000905"),
    ("KRW-USDT", "테더", "Tether", "1392"),
    ("KRW-ONDO", "온도파이낸스", "Ondo Finance", "1268"),
    ("KRW-SEI", "세이", "Sei", "415"),
    ("KRW-STX", "스택스", "Stacks", "935"),
    ("KRW-AAVE", "에이브", "Aave", "412700"),
    ("KRW-UNI", "유니스왑", "Uniswap", "12340"),
    ("KRW-ATOM", "코스모스", "Cosmos", "6210"),
    ("KRW-POL", "폴리곤 에코시스템 토큰", "POL (ex-MATIC)", "327"),
    ("KRW-ENA", "에테나", "Ethena", "1024"),
    ("KRW-WLD", "월드코인", "Worldcoin", "1715"),
    ("KRW-IMX", "이뮤터블엑스", "Immutable X", "842"),
    ("KRW-ALGO", "알고랜드", "Algorand", "356"),
)

DEFAULT_MARKETS: tuple[Market, ...] = tuple(
    Market(code, kor, eng, Decimal(price)) for code, kor, eng, price in _DEFAULT_MARKETS
)


def generated_markets(count: int) -> tuple[Market, ...]:
    """`count` markets: the default set first, then synthetic KRW-C0001, KRW-C0002, ...

    Synthetic prices spread over every tick band (from 0.001 KRW to 10 M KRW) so
    each band of the grid is exercised.
    """
    if count <= len(DEFAULT_MARKETS):
        return DEFAULT_MARKETS[:count]
    synthetic = []
    for n in range(1, count - len(DEFAULT_MARKETS) + 1):
        exponent = (n % 11) - 3  # 10^-3 .. 10^7
        mantissa = Decimal(1) + Decimal(n % 89) / Decimal(10)
        price = mantissa.scaleb(exponent)
        synthetic.append(Market(f"KRW-C{n:04d}", f"합성코인{n}", f"Synthetic Coin {n}", price))
    return DEFAULT_MARKETS + tuple(synthetic)


def select_markets(codes: list[str] | None, count: int | None) -> tuple[Market, ...]:
    """Markets named by `codes` (known ones keep their names and prices), else `count`, else the default set."""
    if codes:
        known = {m.code: m for m in generated_markets(max(len(DEFAULT_MARKETS), 10_000))}
        chosen = []
        for code in codes:
            if not CODE_PATTERN.match(code):
                raise ValueError(f"invalid market code {code!r}: expected upper-case QUOTE-BASE")
            chosen.append(known.get(code) or Market(code, code, code, Decimal(10_000)))
        return tuple(dict.fromkeys(chosen))
    if count is not None:
        return generated_markets(count)
    return DEFAULT_MARKETS
