select `status` as value, count(*) as occurrences
from `analytics.stg_orders` as t
where `status` is not null and `status` not in ('completed', 'refunded', 'cancelled')
group by `status`
