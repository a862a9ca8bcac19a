{#- The like-day rule (docs/domain.md §8), one implementation: VEE's checks and estimates
    (macros/vee/vee_like_days.sql) and the forecast's like-day average
    (core/consumption/int_customer_like_day_levels.sql) both call it.
    The like-days of a day are the pool's days of the same day type, nearest first (ties: the
    earlier day), at most `k` of them.
    Takes:
      targets  a relation or CTE with the `keys`, `day` (whose like-days are sought) and
               `day_type` (the type sought: the day's own for VEE, each type for the forecast);
      pool     the days that may serve: the `keys`, `day` and `day_type`;
      keys     the key column names (a list);
      k        how many (a SQL expression: a literal or a scalar subquery);
      window   at most this many days away (a SQL expression; none = no limit);
      side     'both': either side of the day, never the day itself (VEE: the day is being
               validated); 'up_to': the day itself and before (the forecast: the day is its
               origin, the last one known);
      carry    pool columns to pass along with each like-day (a list).
    Gives a query of the keys, day, day_type, like_day, like_rank (1 = nearest) and `carry`.
    The k nearest days of a sorted sequence lie among the k before and the k after the day's place
    in it, so each target reads at most 2k + 1 pool days, found by exact key (the place by an ASOF
    join): the cost grows with the targets, not with the length of the history. -#}
{% macro like_day_neighbours(targets, pool, keys, k, window=none, side='both', carry=[]) -%}
{%- set on_keys = [] -%}
{%- for key in keys + ['day_type'] -%}{%- do on_keys.append('s.' ~ key ~ ' = t.' ~ key) -%}{%- endfor -%}
{%- set key_list = keys | join(', ') -%}
with like_sequence as (
    select {{ key_list }}, day, day_type{% for c in carry %}, {{ c }}{% endfor %},
           row_number() over (partition by {{ key_list }}, day_type order by day) as like_seq
    from {{ pool }}
),

like_place as (  -- the day's place: the count of pool days of its type before it (up_to: or on it)
    select t.{{ keys | join(', t.') }}, t.day, t.day_type, coalesce(s.like_seq, 0) as place
    from {{ targets }} t
    asof left join like_sequence s
        on {{ on_keys | join(' and ') }}
       and s.day {{ '<' if side == 'both' else '<=' }} t.day
),

like_wanted as (
    select t.*, cast(unnest(range(t.place - ({{ k }}) + 1,
                                  t.place + {{ '(' ~ k ~ ') + 2' if side == 'both' else '1' }}))
                     as bigint) as like_seq
    from like_place t
)

select t.{{ keys | join(', t.') }}, t.day, t.day_type, s.day as like_day,
{%- for c in carry %} s.{{ c }},{% endfor %}
{%- if side == 'both' %}
       row_number() over (partition by t.{{ keys | join(', t.') }}, t.day, t.day_type
                          order by abs(s.day - t.day), s.day) as like_rank
{%- else %}
       t.place - s.like_seq + 1 as like_rank  -- up_to: the latest first, in sequence order
{%- endif %}
from like_wanted t
join like_sequence s on {{ on_keys | join(' and ') }} and s.like_seq = t.like_seq
where true
  {%- if side == 'both' %} and s.day <> t.day{% endif %}
  {%- if window is not none %} and abs(s.day - t.day) <= {{ window }}{% endif %}
{%- if side == 'both' %}
qualify like_rank <= {{ k }}
{%- endif %}
{%- endmacro %}
