"""Fictional but plausible names for the demo region (deterministic given a Random)."""

from __future__ import annotations

import random

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "建国平华明军红英伟芳秀兰志强海波丽敏静磊洋勇艳杰娟涛超霞刚桂林玉萍辉鹏飞燕春雪梅斌宇浩凯晨文博宁俊亮琳德福"
PLACE_A = "青白红黄绿金银石桃李柳杨松竹梅兰荷枫槐桂清安和顺新兴东西南北上下前后大小长高平丰富永太"
PLACE_B = "山河湖塘桥林岭坡湾沟溪坪冲港庄台园岗峰洲坝口集堡寨"
COMPANIES = ["机械", "建材", "食品", "纺织", "电子", "农业科技", "物流", "新材料", "医药", "电气"]
SOCIAL_ORGS = ["志愿者协会", "商会", "养老服务中心", "红白理事会", "慈善会"]
COUNTY_ORGANS = [
    "县委办公室",
    "县政府办公室",
    "县纪委监委机关",
    "县委组织部",
    "县委宣传部",
    "县发展和改革局",
    "县教育局",
    "县财政局",
    "县人力资源和社会保障局",
    "县自然资源局",
    "县住房和城乡建设局",
    "县交通运输局",
    "县农业农村局",
    "县水利局",
    "县卫生健康委员会",
    "县市场监督管理局",
]


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def place(rng: random.Random, used: set[str]) -> str:
    for _ in range(1000):
        name = rng.choice(PLACE_A) + rng.choice(PLACE_B)
        if name not in used:
            used.add(name)
            return name
    raise RuntimeError("ran out of place names")
