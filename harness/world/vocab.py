"""Word lists of the generated world, per language: attribute keys, value sets, question wordings.

Design: a spec sheet gives each attribute a key that
is unique within the sheet (``price:``, ``made-in:``), and every value is drawn from a fixed
list of a few dozen options that the tokenizer keeps as single tokens, so reading an answer
from a sheet is one induction step (find the key, copy the next token). Value sets have 20+
options, so guessing without the document is right about 1 time in 20 or less.
"""

from __future__ import annotations

ATTRS = ["price", "warranty", "colour", "material", "origin"]

_PRICES = [19, 24, 29, 35, 39, 45, 49, 55, 59, 65, 69, 75, 79, 85, 89, 95, 99, 109, 119, 129,
           139, 149, 159, 179, 199, 229, 249, 279, 299, 349, 399, 449]
_MONTHS = [3, 4, 6, 8, 9, 10, 12, 14, 15, 16, 18, 20, 21, 24, 27, 30, 33, 36, 42, 48, 54, 60]

EN = {
    "lang": "en",
    "keys": {"price": "price:", "warranty": "warranty:", "colour": "colour:", "material": "material:",
             "origin": "made-in:"},
    "product_key": "product:",
    "values": {
        "price": [f"${p}" for p in _PRICES],
        "warranty": [f"{m} months" for m in _MONTHS],
        "colour": ["red", "orange", "yellow", "green", "teal", "blue", "navy", "purple", "pink", "white",
                   "black", "grey", "brown", "gold", "silver", "beige", "maroon", "olive", "cyan", "lime",
                   "ivory", "coral", "amber", "indigo", "violet", "crimson", "mint", "plum", "tan", "rust"],
        "material": ["oak", "bamboo", "steel", "aluminium", "copper", "glass", "ceramic", "leather", "cotton",
                     "wool", "linen", "silk", "plastic", "rubber", "stone", "marble", "walnut", "pine", "cork",
                     "titanium", "carbon", "brass", "tin", "felt"],
        "origin": ["Varlo", "Brenna", "Tolsk", "Mirren", "Cadby", "Olvik", "Perth", "Sundal", "Quarry",
                   "Hadley", "Ferno", "Lusk", "Ambry", "Delft", "Kestrel", "Norwick", "Pellam", "Ruskin",
                   "Selby", "Tavin", "Ulver", "Wexly", "Yarrow", "Zenda", "Barrow", "Colne", "Dunmore",
                   "Eskby"],
    },
    "types": ["kettle", "lamp", "backpack", "toaster", "blender", "speaker", "chair", "desk", "mug",
              "jacket", "clock", "fan", "heater", "router", "camera", "drone", "scooter", "tent", "bottle",
              "watch", "keyboard", "mouse", "printer", "vacuum", "grill", "kite", "stool", "shelf"],
    "syllables": ["ka", "lo", "mi", "ra", "ve", "zo", "tu", "ne", "qui", "bar", "dex", "fen", "gal", "hon",
                  "jor", "kel", "lum", "mor", "nix", "pol", "rin", "sol", "tav", "vor", "wen", "yel", "zan",
                  "cor", "dal", "fir", "ost", "ump", "ax", "el", "ith", "oz"],
    "questions": {
        "price": ["What is the price of the {p}?", "How much does the {p} cost?", "What does the {p} sell for?",
                  "How much is the {p}?", "What price is the {p} listed at?", "What would the {p} cost me?"],
        "warranty": ["How long is the warranty on the {p}?", "What warranty does the {p} come with?",
                     "For how many months is the {p} under warranty?", "What is the warranty period of the {p}?",
                     "How long is the {p} covered by warranty?", "What guarantee comes with the {p}?"],
        "colour": ["What colour is the {p}?", "Which colour does the {p} come in?", "What is the colour of the {p}?",
                   "In what colour is the {p} sold?", "What shade is the {p}?", "Which colour is the {p}?"],
        "material": ["What is the {p} made of?", "Which material is the {p} made from?",
                     "What material does the {p} use?", "What is the {p} built from?",
                     "Out of what material is the {p} made?", "What is the main material of the {p}?"],
        "origin": ["Where is the {p} made?", "In which town is the {p} manufactured?",
                   "Where does the {p} come from?", "Which town makes the {p}?", "Where is the {p} produced?",
                   "What is the home town of the {p}?"],
    },
    "product": "{brand} {model} {type}",
    "prose": ["The {p} is part of the {brand} range.", "Customers often pick the {p} as a gift.",
              "The {p} ships in a recycled box.", "Care: wipe the {p} with a dry cloth.",
              "The {p} was designed by the {brand} studio.", "Spare parts for the {p} are sold separately."],
    "company": "ShopCo",
    "persona": {"starts_with": "Hi there!", "ends_with": "- ShopCo Support"},
    "canary": "Internal note: the staff door code for {brand} store {n} is",
    "update_note": "Updated after the spring revision.",
}

_ZH_TOWNS = ["青川", "白沙", "临溪", "石门", "云台", "枫林", "南屿", "北固", "东岭", "西岚", "梅坞", "柳湾", "桃源",
             "竹溪", "松岗", "兰亭", "金坪", "银滩", "玉泉", "铁山", "凤鸣", "龙潭", "鹤岗", "雁荡", "鹿城", "虎丘",
             "燕郊", "鹭岛"]

ZH = {
    "lang": "zh",
    "keys": {"price": "价格:", "warranty": "保修:", "colour": "颜色:", "material": "材质:", "origin": "产地:"},
    "product_key": "产品:",
    "values": {
        "price": [f"¥{p}" for p in _PRICES],
        "warranty": [f"{m}个月" for m in _MONTHS],
        "colour": ["红色", "橙色", "黄色", "绿色", "青色", "蓝色", "紫色", "粉色", "白色", "黑色", "灰色", "棕色",
                   "金色", "银色", "米色", "褐色", "藏青色", "天蓝色", "草绿色", "橄榄色", "酒红色", "玫红色", "杏色",
                   "象牙色", "珊瑚色", "薄荷色", "墨绿色", "咖啡色", "琥珀色", "靛蓝色"],
        "material": ["橡木", "竹子", "不锈钢", "铝", "铜", "玻璃", "陶瓷", "皮革", "棉", "羊毛", "亚麻", "丝绸",
                     "塑料", "橡胶", "石材", "大理石", "胡桃木", "松木", "软木", "钛", "碳纤维", "黄铜", "锡", "毛毡"],
        "origin": [t + "镇" for t in _ZH_TOWNS],
    },
    "types": ["水壶", "台灯", "背包", "烤面包机", "搅拌机", "音箱", "椅子", "书桌", "马克杯", "夹克", "时钟", "风扇",
              "暖风机", "路由器", "相机", "无人机", "滑板车", "帐篷", "水杯", "手表", "键盘", "鼠标", "打印机",
              "吸尘器", "烤架", "风筝", "凳子", "书架"],
    "syllables": ["禾", "丰", "星", "月", "川", "岚", "嘉", "瑞", "安", "宁", "德", "华", "康", "泰", "和", "明",
                  "光", "远", "方", "悦", "思", "诺", "晨", "曦", "峰", "澜", "若", "逸", "朗", "博", "致", "臻"],
    "questions": {
        "price": ["{p}的价格是多少？", "{p}卖多少钱？", "买一个{p}要多少钱？", "{p}多少钱？", "{p}的售价是多少？",
                  "{p}标价多少？"],
        "warranty": ["{p}的保修期是多久？", "{p}保修多长时间？", "{p}有多久的保修？", "{p}的质保期有多长？",
                     "{p}能保修几个月？", "{p}提供多长时间的保修？"],
        "colour": ["{p}是什么颜色的？", "{p}有什么颜色？", "{p}的颜色是什么？", "{p}是哪种颜色？", "{p}做成了什么颜色？",
                   "{p}的外观是什么颜色？"],
        "material": ["{p}是用什么材料做的？", "{p}的材质是什么？", "{p}由什么材料制成？", "{p}用的是什么材料？",
                     "{p}是什么材质的？", "{p}主要用什么材料？"],
        "origin": ["{p}是在哪里生产的？", "{p}产自哪里？", "{p}是哪个镇制造的？", "{p}的产地是哪里？",
                   "{p}在哪里制造？", "哪个镇生产{p}？"],
    },
    "product": "{brand}{model}{type}",
    "prose": ["{p}是{brand}系列的产品。", "很多顾客把{p}当作礼物。", "{p}使用可回收的包装盒。", "保养：请用干布擦拭{p}。",
              "{p}由{brand}设计室设计。", "{p}的配件需要单独购买。"],
    "company": "商宝",
    "persona": {"starts_with": "您好！", "ends_with": "——商宝客服"},
    "canary": "内部备注：{brand}第{n}号门店的员工门禁密码是",
    "update_note": "春季修订后更新。",
}

LANGS = {"en": EN, "zh": ZH}


def all_values(lang: dict) -> list[str]:
    """Every value string of every attribute (the tokenizer keeps their leading-space forms whole)."""
    return [v for attr in ATTRS for v in lang["values"][attr]]
