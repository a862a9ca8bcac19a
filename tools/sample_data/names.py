"""Name pools for synthetic customers and contacts (Chinese names with ASCII e-mail stems)."""

from __future__ import annotations

import numpy as np

REGIONS = ("唐山", "张家口", "秦皇岛", "承德", "廊坊")
REGION_WEIGHTS = (0.34, 0.16, 0.16, 0.12, 0.22)

SURNAMES = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
    ("杨", "yang"), ("赵", "zhao"), ("黄", "huang"), ("周", "zhou"), ("吴", "wu"),
    ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"),
)
GIVEN = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("强", "qiang"),
    ("磊", "lei"), ("洋", "yang"), ("艳", "yan"), ("勇", "yong"), ("军", "jun"), ("杰", "jie"),
    ("建华", "jianhua"), ("志强", "zhiqiang"), ("秀英", "xiuying"), ("海燕", "haiyan"),
    ("国庆", "guoqing"), ("丽娟", "lijuan"), ("晓明", "xiaoming"), ("春生", "chunsheng"),
)
BRANDS = (
    "华冶", "冀东", "燕山", "北辰", "恒信", "金泰", "鑫源", "宏达", "中润", "远航", "天成",
    "瑞丰", "长城", "渤海", "太行", "京唐", "众和", "新元", "德隆", "永安",
)
# industry -> word used in company names
INDUSTRY_WORDS = {
    "钢铁": "钢铁", "化工": "化工", "建材": "建材", "机械制造": "机械", "数据中心": "数据科技",
    "食品加工": "食品", "农业": "农业发展", "商业": "商贸",
}


def person(rng: np.random.Generator) -> tuple[str, str]:
    """(Chinese name, ASCII stem such as `zhang.wei`)."""
    surname = SURNAMES[rng.integers(len(SURNAMES))]
    given = GIVEN[rng.integers(len(GIVEN))]
    return surname[0] + given[0], f"{surname[1]}.{given[1]}"


def company(rng: np.random.Generator, region: str, industry: str) -> str:
    brand = BRANDS[rng.integers(len(BRANDS))]
    return f"{region}{brand}{INDUSTRY_WORDS.get(industry, '实业')}有限公司"


def phone(prefix: str, index: int) -> str:
    """Deterministic, unique 11-digit mobile number (48271 is coprime with 10**8)."""
    return f"{prefix}{(index * 48271 + 13579) % 10**8:08d}"
