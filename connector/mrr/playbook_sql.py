"""The dbt mrr-playbook's monthly per-customer approach, written as DuckDB SQL.

An independent reference: the tests check the engine against it on the public
sample, and benchmarks/mrr_history.py times both side by side. It reads a
table ``periods(customer_id, start_date DATE, end_date DATE, mrr_minor BIGINT)``
(end exclusive, NULL = open) and, like the playbook, classifies each customer's
month by comparing month-end MRR with the previous month's — which matches the
engine's default policy when periods start and end on month boundaries (the
engine also sees changes within a month).
"""

from __future__ import annotations

CUSTOMER_MONTHS_SQL = """
CREATE OR REPLACE TEMP TABLE playbook_customer_months AS
WITH bounds AS (
    SELECT date_trunc('month', min(start_date))::DATE AS first_month, $horizon::DATE AS last_month FROM periods
),
months AS (
    SELECT month_start::DATE AS month_start,
           (month_start + INTERVAL 1 MONTH - INTERVAL 1 DAY)::DATE AS month_end
    FROM bounds, generate_series(first_month, last_month, INTERVAL 1 MONTH) AS g(month_start)
),
revenue AS (  -- MRR on each month's last day
    SELECT p.customer_id, m.month_start, sum(p.mrr_minor) AS mrr_minor
    FROM periods p JOIN months m
      ON p.start_date <= m.month_end AND (p.end_date IS NULL OR p.end_date > m.month_end)
    GROUP BY 1, 2
),
spine AS (  -- every month from the first with MRR to the month after the last (the churn month)
    SELECT customer_id,
           unnest(generate_series(min(month_start), least(max(month_start) + INTERVAL 1 MONTH, $horizon::DATE),
                                  INTERVAL 1 MONTH))::DATE AS month_start
    FROM revenue GROUP BY customer_id
),
filled AS (
    SELECT s.customer_id, s.month_start, coalesce(r.mrr_minor, 0) AS mrr_minor
    FROM spine s LEFT JOIN revenue r USING (customer_id, month_start)
),
lagged AS (
    SELECT *,
           lag(mrr_minor, 1, 0) OVER (PARTITION BY customer_id ORDER BY month_start) AS start_mrr_minor,
           min(month_start) OVER (PARTITION BY customer_id) AS first_month
    FROM filled
)
SELECT customer_id, strftime(month_start, '%Y-%m') AS month, mrr_minor, start_mrr_minor,
       CASE
         WHEN start_mrr_minor = 0 AND mrr_minor > 0 AND month_start = first_month THEN 'new'
         WHEN start_mrr_minor = 0 AND mrr_minor > 0 THEN 'reactivation'
         WHEN start_mrr_minor > 0 AND mrr_minor = 0 THEN 'churn'
         WHEN mrr_minor > start_mrr_minor THEN 'expansion'
         WHEN mrr_minor < start_mrr_minor THEN 'contraction'
         ELSE ''
       END AS movement,
       mrr_minor - start_mrr_minor AS movement_minor
FROM lagged
WHERE mrr_minor > 0 OR start_mrr_minor > 0
"""

METRICS_SQL = """
SELECT month,
       sum(mrr_minor) AS mrr_minor,
       sum(start_mrr_minor) AS start_mrr_minor,
       count(*) FILTER (WHERE mrr_minor > 0) AS customers,
       sum(movement_minor) FILTER (WHERE movement = 'new') AS new_minor,
       sum(movement_minor) FILTER (WHERE movement = 'expansion') AS expansion_minor,
       sum(movement_minor) FILTER (WHERE movement = 'contraction') AS contraction_minor,
       sum(movement_minor) FILTER (WHERE movement = 'churn') AS churn_minor,
       sum(movement_minor) FILTER (WHERE movement = 'reactivation') AS reactivation_minor
FROM playbook_customer_months
GROUP BY month
ORDER BY month
"""


def playbook_customer_months(connection, horizon_month_start: str) -> list[tuple]:
    """Run the playbook SQL on ``connection`` (which holds ``periods``); rows sorted by customer, month."""
    connection.execute(CUSTOMER_MONTHS_SQL.replace("$horizon", f"DATE '{horizon_month_start}'"))
    return connection.execute(
        "SELECT customer_id, month, mrr_minor, start_mrr_minor, movement, movement_minor "
        "FROM playbook_customer_months ORDER BY customer_id, month"
    ).fetchall()


def playbook_metrics(connection) -> list[tuple]:
    return connection.execute(METRICS_SQL).fetchall()
