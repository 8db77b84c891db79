// SPDX-License-Identifier: LGPL-2.1-or-later
// DomainObjList identity rules and the job slot.
#include "objects/domain_obj_list.hpp"

#include <gtest/gtest.h>

#include <thread>

using namespace corral;
using namespace corral::objects;

TEST(DomainObjList, IndexesByUuidNameAndId) {
    DomainObjList list;
    Uuid a = Uuid::generate();
    auto dom = list.add(a, "a");
    ASSERT_TRUE(dom);
    EXPECT_EQ(list.findByName("a"), *dom);
    EXPECT_EQ(list.findByUuid(a), *dom);
    EXPECT_EQ(list.findById(1), nullptr);
    int id = list.allocateId();
    list.setRunningId(*dom, id);
    EXPECT_EQ(list.findById(id), *dom);
    list.setRunningId(*dom, -1);
    EXPECT_EQ(list.findById(id), nullptr);
    EXPECT_EQ((*dom)->id(), -1);
    list.remove(*dom);
    EXPECT_EQ(list.findByName("a"), nullptr);
}

TEST(DomainObjList, RefusesClashes) {
    DomainObjList list;
    Uuid a = Uuid::generate();
    ASSERT_TRUE(list.add(a, "a"));
    auto sameName = list.add(Uuid::generate(), "a");
    ASSERT_FALSE(sameName);
    EXPECT_NE(sameName.error().message.find("already exists with uuid"), std::string::npos);
    auto sameUuid = list.add(a, "b");
    ASSERT_FALSE(sameUuid);
    EXPECT_NE(sameUuid.error().message.find("is already defined with uuid"), std::string::npos);
    auto again = list.add(a, "a");
    ASSERT_TRUE(again);  // same identity: the existing object
}

TEST(DomainObj, SecondJobWaitsAndTimesOutNamingTheFirst) {
    DomainObj dom(Uuid::generate(), "busy");
    std::unique_lock lock(dom.mutex());
    ASSERT_TRUE(dom.beginJob(lock, "start"));
    auto second = dom.beginJob(lock, "destroy", std::chrono::milliseconds(10));
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().message, "domain 'busy' is busy with 'start'");
    dom.endJob();
    EXPECT_TRUE(dom.beginJob(lock, "destroy", std::chrono::milliseconds(10)));
}

TEST(DomainObjList, ReplaceRenamedSwapsTheNameAtomically) {
    DomainObjList list;
    Uuid a = Uuid::generate();
    auto old = list.add(a, "a");
    ASSERT_TRUE(old);
    ASSERT_TRUE(list.add(Uuid::generate(), "taken"));
    auto clash = std::make_shared<DomainObj>(a, "taken");
    auto refused = list.replaceRenamed(*old, clash);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message, "domain with name 'taken' already exists");
    EXPECT_EQ(list.findByName("a"), *old);

    auto renamed = std::make_shared<DomainObj>(a, "b");
    ASSERT_TRUE(list.replaceRenamed(*old, renamed));
    EXPECT_EQ(list.findByName("a"), nullptr);
    EXPECT_EQ(list.findByName("b"), renamed);
    EXPECT_EQ(list.findByUuid(a), renamed);
    // The old object is gone: a second rename through it (a client that held it) is refused.
    auto late = list.replaceRenamed(*old, std::make_shared<DomainObj>(a, "c"));
    ASSERT_FALSE(late);
    EXPECT_EQ(late.error().code, ErrorCode::NoDomain);
    EXPECT_EQ(list.findByName("c"), nullptr);
    EXPECT_EQ(list.size(), 2u);
}
