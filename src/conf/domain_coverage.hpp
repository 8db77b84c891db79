// SPDX-License-Identifier: LGPL-2.1-or-later
// "Accepted means enforced": after a driver planned a definition under an XmlReadTracker, every
// part of it the plan did not read is refused, unless it only describes the domain.
#pragma once

#include <string_view>

#include "conf/domain_def.hpp"
#include "conf/xml_read_tracker.hpp"
#include "util/result.hpp"

namespace corral::conf {

/// The elements that describe a domain without changing what its guest can do or reach, kept
/// and formatted back by every driver and never refused: <metadata> (applications' own data,
/// virDomainSetMetadata) and a device's <alias> (a name for the device in the API; the drivers
/// choose their own ids). <title>, <description>, <name> and <uuid> are typed fields. The list
/// is short on purpose and docs/domain-xml.md repeats it; add to it only what cannot change a
/// guest's behaviour.
bool isDescriptiveDomainElement(std::string_view name);

/// Refuses what `tracker` did not see read in the schema-known elements, <os>, the devices and
/// the unknown elements of `def`: ConfigUnsupported in `domain`, naming each part (up to a
/// handful), its line and `driver` ("<interface><filterref> (line 12)"). The typed fields
/// (memory, vcpu, os type, lifecycle actions...) are each driver's to check explicitly.
Result<void> refuseUnreadParts(const DomainDef& def, const XmlReadTracker& tracker, std::string_view driver,
                               ErrorDomain domain);

}  // namespace corral::conf
