"""Every enum the product knows, with its Chinese label, in one place."""

from __future__ import annotations

SECTORS: dict[str, str] = {
    "rural": "农村",
    "community": "社区",
    "organ": "机关",
    "soe": "国有企业",
    "school": "学校",
    "nonpublic": "非公企业",
    "social_org": "社会组织",
    "hospital": "公立医院",
}

REGION_LEVELS: dict[str, str] = {
    "province": "省",
    "city": "市",
    "county": "县/区",
    "township": "乡镇/街道",
    "village": "村/社区",
}
LEVEL_ORDER = ["province", "city", "county", "township", "village"]

ROLES: dict[str, str] = {
    "admin": "系统管理员",
    "county": "县委组织部",
    "inspector": "乡镇评审员",
    "branch": "支部书记",
    "viewer": "只读查看",
}

BRANCH_STATUSES: dict[str, str] = {
    "active": "正常",
    "merged": "已合并",
    "dissolved": "已撤销",
}

CRITERIA_STATUSES: dict[str, str] = {
    "draft": "草稿",
    "published": "已发布",
    "archived": "已归档",
}

ASSESSMENT_STATUSES: dict[str, str] = {
    "draft": "未开始",
    "self_submitted": "已自评",
    "scoring": "考评中",
    "submitted": "已提交",
    "returned": "已退回",
    "reviewed": "已审核",
    "publicized": "公示中",
    "final": "已认定",
}

STARS: dict[int, str] = {
    0: "未定星",
    1: "一星",
    2: "二星",
    3: "三星",
    4: "四星",
    5: "五星",
}


AUDIT_ACTIONS: dict[str, str] = {
    "assessment.create": "开始评定",
    "assessment.transition": "状态变更",
    "score.inspector": "考评打分",
    "score.self": "自评打分",
    "score.extras": "否决/必备条件/评议",
    "evidence.add": "上传佐证材料",
    "evidence.delete": "删除佐证材料",
    "objection.record": "登记异议",
    "objection.resolve": "处理异议",
    "user.login": "登录",
    "user.locked": "账号锁定",
    "user.create": "新建用户",
    "token.create": "新建令牌",
    "token.revoke": "吊销令牌",
    "criteria.create": "新建评分标准",
    "criteria.publish": "发布评分标准",
}


# Dynamic management (示范点, 软弱涣散, 摘星, 走访).
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


def label(mapping: dict, key: object, default: str = "") -> str:
    """Chinese label for an enum value (the value itself when unknown)."""
    return str(mapping.get(key, default or key))  # type: ignore[call-overload]


BRANCH_FIELDS: dict[str, str] = {
    "code": "支部编码",
    "name": "支部名称",
    "sector": "领域",
    "region_code": "所在区划代码",
    "secretary_name": "书记姓名",
    "secretary_phone": "书记电话",
    "member_count": "党员人数",
    "founded_on": "成立日期",
    "status": "状态",
    "merged_into": "并入支部",
    "dissolved_on": "撤销日期",
    "status_reason": "原因",
    "version": "版本",
}

BRANCH_ACTIONS: dict[str, str] = {
    "branch.create": "新建",
    "branch.update": "修改",
    "branch.dissolve": "撤销",
    "branch.merge": "合并",
}
