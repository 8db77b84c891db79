// SPDX-License-Identifier: LGPL-2.1-or-later
// Validation of the schema-known elements DomainDef keeps as trees (devices, tuning, labels).
#pragma once

#include "util/result.hpp"

namespace corral::conf {

struct DomainDef;

/// Checks enumerated values, numbers and required parts of kept elements. Errors: XmlError
/// naming the element, the attribute, the value and the line.
Result<void> validateKeptElements(const DomainDef& def);

}  // namespace corral::conf
