"""Chinese labels of the dynamic-management enums.

They belong in app/labels.py (one place for every label); kept here until the lead moves them, because
this domain may not edit shared files."""

from __future__ import annotations

DEMO_SITE_STATUSES: dict[str, str] = {
    "shortlisted": "候选",
    "designated": "已命名",
    "withdrawn": "已撤销",
}

WEAK_STATUSES: dict[str, str] = {
    "suggested": "建议列入",
    "listed": "整顿中",
    "rejected": "不予列入",
    "delisted": "已摘帽",
}

WEAK_SIGNS: dict[str, str] = {
    "below_three": "星级低于三星",
    "vetoed": "触发一票否决",
    "down_two_years": "连续两年降星",
    "secretary_vacant": "书记空缺超过三个月",
    "low_satisfaction": "群众满意度低于 60%",
    "manual": "县委组织部直接列入",
}

TASK_STATUSES: dict[str, str] = {
    "open": "未开始",
    "in_progress": "整改中",
    "done": "已完成",
}

STAR_CHANGE_EVENTS: dict[str, str] = {
    "discipline": "违纪违法案件",
    "accident": "重大事故",
    "mass_incident": "群体性事件",
    "other": "其他情形",
}

TIMELINE_KINDS: dict[str, str] = {
    "rating": "年度评定",
    "veto": "一票否决",
    "designation": "直接定级",
    "quota": "比例控制",
    "demo_site": "示范点",
    "weak": "软弱涣散整顿",
    "task": "整顿任务",
    "star_change": "星级调整",
    "visit": "走访",
}
