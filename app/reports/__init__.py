"""Annual star-branch report (年度星级党支部评定结果), the public-notice list (公示) and their background jobs."""
