/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one header the commands include: lib/'s four layers, each using only
 * those below it (base < kernel < model < output; tests/layers.bats checks).
 */
#ifndef TM_H
#define TM_H

#include "output/output.h"

#endif /* TM_H */
