select `email` as value, count(*) as occurrences
from `analytics.marketing_consent` as t
where `email` is not null
group by `email`
having count(*) > 1
