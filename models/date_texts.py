"""How a business date is written to people (`models.timeutil.format_jst_date`)."""

DATE = "{year}年{month}月{day}日"  # 2029年1月31日
