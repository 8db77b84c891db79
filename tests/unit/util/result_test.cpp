// SPDX-License-Identifier: LGPL-2.1-or-later
// Result<T>: values, failures, context and the two macros.
#include "util/result.hpp"

#include <gtest/gtest.h>

using namespace corral;

namespace {
Result<int> half(int v) {
    if (v % 2 != 0) {
        return fail(ErrorCode::InvalidArg, "'" + std::to_string(v) + "' is odd");
    }
    return v / 2;
}

Result<int> quarter(int v) {
    CORRAL_ASSIGN_OR_RETURN(int h, half(v));
    return half(h);
}

Result<void> checkEven(int v) {
    CORRAL_TRY(half(v).withContext("checking"));
    return {};
}
}  // namespace

TEST(Result, HoldsValue) {
    auto r = half(8);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, 4);
}

TEST(Result, PropagatesFailureThroughAssignOrReturn) {
    auto r = quarter(6);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArg);
    EXPECT_EQ(r.error().wireMessage(), "invalid argument: '3' is odd");
}

TEST(Result, ContextIsPrepended) {
    auto r = checkEven(3);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().message, "checking: '3' is odd");
}

TEST(Result, NoDomainPrefixMatchesLibvirt) {
    Error e{ErrorCode::NoDomain, ErrorDomain::Domain, "no domain with matching name 'x'"};
    EXPECT_EQ(e.wireMessage(), "Domain not found: no domain with matching name 'x'");
}

TEST(ResultDeathTest, ValueOfFailureAborts) {
    auto r = half(3);
    EXPECT_DEATH((void)r.value(), "odd");
}
