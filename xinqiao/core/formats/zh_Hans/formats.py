"""Chinese input formats with ISO 8601 first.

A date widget renders its initial or saved value with the first input format of the language.
Django's zh_Hans list starts with "%Y/%m/%d", which an <input type="date"> does not accept (its
value must be YYYY-MM-DD): the browser showed every prefilled date empty — an edit form lost the
dates it was saving, a form with today's date as its default asked for it again. The same
formats are accepted as before, in this order.
"""

DATE_INPUT_FORMATS = [
    "%Y-%m-%d",  # '2016-09-05' (what <input type="date"> sends and shows)
    "%Y/%m/%d",  # '2016/09/05'
    "%Y年%n月%j日",  # '2016年9月5日'
]
