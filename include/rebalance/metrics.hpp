// The metrics family in one include: confusion-matrix metrics, score-ranking metrics and the
// evaluation report that gathers them.
#pragma once

#include "rebalance/metrics/classification.hpp"
#include "rebalance/metrics/ranking.hpp"
#include "rebalance/metrics/report.hpp"
