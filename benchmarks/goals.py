"""The goals from the issues, in one place: each case reports its figures against these."""

NOOP_SECONDS = 0.35
NOOP_VS_NPX = 0.5
APPLY_VS_FLOOR = 1.3  # fresh apply and scale
APPLY_VS_DRIZZLE = 0.5
SCALE_STATUS_SECONDS = 1.0
SCALE_RSS_MB = 100
CLONE_SECONDS = 0.050
HISTORY_GROWTH = 1.3  # issue 10: at 1,000 migrations `inv status` stays within 1.3x its time at 10
CONTAINER_SECONDS = 1.2
REALHISTORY_STATUS_SECONDS = 0.25  # issue 14: `inv status` on 200 real-sized migrations, everything applied
FLEET_VS_LOOP = 10.0  # issue 12: 200 databases at parallel 8, against the `npx drizzle-kit migrate` shell loop
FLEET_NOOP_SECONDS = 3.0  # issue 12: the no-op pass over all 200
LINT_SINCE_SECONDS = 0.5  # issue 22: `lint --since` on 300 migrations, a base that holds them all, 0 findings
