// SPDX-License-Identifier: LGPL-2.1-or-later
#include "host/cgroup_device_program.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "util/strings.hpp"

namespace corral::host {

namespace {

constexpr std::uint32_t kAllAccess = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;
// The largest numbers a dev_t can carry (12-bit major, 20-bit minor); both also fit the
// signed 32-bit immediate the compares use.
constexpr std::uint64_t kMaxMajor = (1u << 12) - 1;
constexpr std::uint64_t kMaxMinor = (1u << 20) - 1;

// Registers of the generated program. r1 holds the context on entry; the rest are scratch
// (the program calls no helper, so none needs saving).
constexpr std::uint8_t kR0 = 0, kCtx = 1, kAccess = 2, kType = 3, kMajor = 4, kMinor = 5;

Result<std::optional<std::uint32_t>> parseNumber(std::string_view field, std::uint64_t max, std::string_view rule,
                                                 std::string_view what) {
    if (field == "*") {
        return std::optional<std::uint32_t>{};
    }
    auto n = parseUnsigned(field);
    if (!n || *n > max) {
        return fail(ErrorCode::InvalidArg, "invalid device rule '" + std::string(rule) + "': the " + std::string(what) +
                                               " must be '*' or a number from 0 to " + std::to_string(max));
    }
    return std::optional<std::uint32_t>(static_cast<std::uint32_t>(*n));
}

// --- a small assembler: one function per instruction form the program uses ---

bpf_insn insn(std::uint8_t code, std::uint8_t dst, std::uint8_t src, std::int16_t off, std::int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}

/// dst = *(u32 *)(src + off)
bpf_insn loadWord(std::uint8_t dst, std::uint8_t src, std::size_t off) {
    return insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, static_cast<std::int16_t>(off), 0);
}
bpf_insn moveReg(std::uint8_t dst, std::uint8_t src) { return insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
bpf_insn moveImm(std::uint8_t dst, std::int32_t imm) { return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }
/// 32-bit ALU operations zero the upper half, so the result is the plain u32.
bpf_insn and32(std::uint8_t dst, std::int32_t imm) { return insn(BPF_ALU | BPF_AND | BPF_K, dst, 0, 0, imm); }
bpf_insn rsh32(std::uint8_t dst, std::int32_t imm) { return insn(BPF_ALU | BPF_RSH | BPF_K, dst, 0, 0, imm); }
/// if dst != imm goto pc + 1 + off (the offset is patched once the target is known)
bpf_insn jumpIfNot(std::uint8_t dst, std::int32_t imm) { return insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, 0, imm); }
bpf_insn exitInsn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

/// The instructions of one rule: each compare that fails jumps past the block to the next rule;
/// falling through all of them allows the access. `unconditional` says no compare was needed.
std::vector<bpf_insn> ruleBlock(const DeviceRule& rule, bool& unconditional) {
    std::vector<bpf_insn> block;
    if (rule.type != DeviceRule::Type::Any) {
        const bool isChar = rule.type == DeviceRule::Type::Char;
        block.push_back(jumpIfNot(kType, isChar ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK));
    }
    if (rule.major) {
        block.push_back(jumpIfNot(kMajor, static_cast<std::int32_t>(*rule.major)));
    }
    if (rule.minor) {
        block.push_back(jumpIfNot(kMinor, static_cast<std::int32_t>(*rule.minor)));
    }
    if ((rule.access & kAllAccess) != kAllAccess) {
        // Every access bit asked for must be granted: (asked & ~granted) == 0.
        block.push_back(moveReg(kR0, kAccess));
        block.push_back(and32(kR0, static_cast<std::int32_t>(kAllAccess & ~rule.access)));
        block.push_back(jumpIfNot(kR0, 0));
    }
    unconditional = block.empty();
    const std::size_t end = block.size() + 2;
    for (std::size_t pc = 0; pc < block.size(); ++pc) {
        if (block[pc].code == (BPF_JMP | BPF_JNE | BPF_K)) {
            block[pc].off = static_cast<std::int16_t>(end - (pc + 1));
        }
    }
    block.push_back(moveImm(kR0, 1));
    block.push_back(exitInsn());
    return block;
}

// --- bpf(2) ---

std::uint64_t pointerValue(const void* p) { return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(p)); }

/// The bpf(2) syscall, which glibc does not wrap. The attr is zeroed by the caller: the kernel
/// refuses unknown non-zero fields.
long bpfCall(int cmd, bpf_attr& attr) { return ::syscall(SYS_bpf, cmd, &attr, sizeof attr); }

bpf_attr zeroedAttr() {
    bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    return attr;
}

/// Fds of the device programs Corral attached to the group before (found by name).
Result<std::vector<UniqueFd>> ourAttachedPrograms(int cgroup, const std::string& dir) {
    std::vector<__u32> ids(64);  // BPF_CGROUP_MAX_PROGS: a group holds no more
    bpf_attr query = zeroedAttr();
    query.query.target_fd = static_cast<__u32>(cgroup);
    query.query.attach_type = BPF_CGROUP_DEVICE;
    query.query.prog_ids = pointerValue(ids.data());
    query.query.prog_cnt = static_cast<__u32>(ids.size());
    if (bpfCall(BPF_PROG_QUERY, query) != 0) {
        return failErrno(errno, "cannot list the device programs of cgroup '" + dir + "'");
    }
    ids.resize(query.query.prog_cnt);
    std::vector<UniqueFd> ours;
    for (__u32 id : ids) {
        bpf_attr byId = zeroedAttr();
        byId.prog_id = id;
        UniqueFd fd(static_cast<int>(bpfCall(BPF_PROG_GET_FD_BY_ID, byId)));
        if (!fd) {
            if (errno == ENOENT) {
                continue;  // detached and freed since the query
            }
            return failErrno(errno, "cannot open device program " + std::to_string(id) + " of cgroup '" + dir + "'");
        }
        bpf_prog_info info;
        std::memset(&info, 0, sizeof info);
        bpf_attr getInfo = zeroedAttr();
        getInfo.info.bpf_fd = static_cast<__u32>(fd.get());
        getInfo.info.info_len = sizeof info;
        getInfo.info.info = pointerValue(&info);
        if (bpfCall(BPF_OBJ_GET_INFO_BY_FD, getInfo) != 0) {
            return failErrno(errno, "cannot read device program " + std::to_string(id) + " of cgroup '" + dir + "'");
        }
        if (std::string_view(info.name, strnlen(info.name, sizeof info.name)) == kDeviceProgramName) {
            ours.push_back(std::move(fd));
        }
    }
    return ours;
}

}  // namespace

Result<DeviceRule> parseDeviceRule(std::string_view text) {
    auto invalid = [&](const std::string& why) {
        return fail(ErrorCode::InvalidArg, "invalid device rule '" + std::string(text) + "': " + why);
    };
    std::vector<std::string> fields;
    for (auto& field : splitString(trimString(text), ' ')) {
        if (!field.empty()) {
            fields.push_back(std::move(field));
        }
    }
    if (fields.size() == 1 && fields[0] == "a") {
        return DeviceRule{DeviceRule::Type::Any, std::nullopt, std::nullopt, kAllAccess};
    }
    if (fields.size() != 3) {
        return invalid("expected 'TYPE MAJOR:MINOR ACCESS', e.g. 'c 1:3 rwm'");
    }
    DeviceRule rule;
    if (fields[0] == "c") {
        rule.type = DeviceRule::Type::Char;
    } else if (fields[0] == "b") {
        rule.type = DeviceRule::Type::Block;
    } else if (fields[0] == "a") {
        rule.type = DeviceRule::Type::Any;
    } else {
        return invalid("the type must be 'c', 'b' or 'a', not '" + fields[0] + "'");
    }
    auto numbers = splitString(fields[1], ':');
    if (numbers.size() != 2) {
        return invalid("the device must be 'MAJOR:MINOR', not '" + fields[1] + "'");
    }
    CORRAL_ASSIGN_OR_RETURN(rule.major, parseNumber(numbers[0], kMaxMajor, text, "major number"));
    CORRAL_ASSIGN_OR_RETURN(rule.minor, parseNumber(numbers[1], kMaxMinor, text, "minor number"));
    for (char c : fields[2]) {
        switch (c) {
            case 'r': rule.access |= BPF_DEVCG_ACC_READ; break;
            case 'w': rule.access |= BPF_DEVCG_ACC_WRITE; break;
            case 'm': rule.access |= BPF_DEVCG_ACC_MKNOD; break;
            default: return invalid("the access must be letters among 'r', 'w' and 'm', not '" + fields[2] + "'");
        }
    }
    return rule;
}

Result<std::vector<DeviceRule>> parseDeviceRules(const std::vector<std::string>& rules) {
    std::vector<DeviceRule> parsed;
    for (const auto& text : rules) {
        CORRAL_ASSIGN_OR_RETURN(DeviceRule rule, parseDeviceRule(text));
        parsed.push_back(rule);
    }
    return parsed;
}

std::vector<bpf_insn> buildDeviceProgram(const std::vector<DeviceRule>& rules) {
    // Split the context once: access_type = access << 16 | type; then one block per rule.
    std::vector<bpf_insn> program = {
        loadWord(kAccess, kCtx, offsetof(bpf_cgroup_dev_ctx, access_type)),
        moveReg(kType, kAccess),
        and32(kType, 0xffff),
        rsh32(kAccess, 16),
        loadWord(kMajor, kCtx, offsetof(bpf_cgroup_dev_ctx, major)),
        loadWord(kMinor, kCtx, offsetof(bpf_cgroup_dev_ctx, minor)),
    };
    for (const auto& rule : rules) {
        bool unconditional = false;
        auto block = ruleBlock(rule, unconditional);
        program.insert(program.end(), block.begin(), block.end());
        if (unconditional) {
            return program;  // the verifier refuses unreachable code: nothing may follow
        }
    }
    program.push_back(moveImm(kR0, 0));
    program.push_back(exitInsn());
    return program;
}

Result<UniqueFd> loadDeviceProgram(const std::vector<bpf_insn>& program) {
    static constexpr char kLicense[] = "GPL";  // not required for this type; harmless
    auto load = [&](char* log, std::size_t logSize) {
        bpf_attr attr = zeroedAttr();
        attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        attr.expected_attach_type = BPF_CGROUP_DEVICE;
        attr.insns = pointerValue(program.data());
        attr.insn_cnt = static_cast<__u32>(program.size());
        attr.license = pointerValue(kLicense);
        std::memcpy(attr.prog_name, kDeviceProgramName.data(), kDeviceProgramName.size());
        if (log != nullptr) {
            attr.log_level = 1;
            attr.log_buf = pointerValue(log);
            attr.log_size = static_cast<__u32>(logSize);
        }
        return UniqueFd(static_cast<int>(bpfCall(BPF_PROG_LOAD, attr)));
    };
    // Load without a log first: a log that does not fit fails even a sound program.
    UniqueFd fd = load(nullptr, 0);
    if (fd) {
        return fd;
    }
    int err = errno;
    std::string log(64 * 1024, '\0');
    if (UniqueFd retried = load(log.data(), log.size())) {
        return retried;
    }
    log.resize(strnlen(log.data(), log.size()));
    auto failure = failErrno(err, "cannot load the cgroup device program");
    std::string_view verifier = trimString(log);
    if (!verifier.empty()) {
        failure.error.message += "; verifier log: " + std::string(verifier);
    }
    return failure;
}

Result<void> attachDeviceProgram(const std::string& cgroupDir, int program) {
    UniqueFd cgroup(::open(cgroupDir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!cgroup) {
        return failErrno(errno, "cannot open cgroup '" + cgroupDir + "'");
    }
    CORRAL_ASSIGN_OR_RETURN(auto previous, ourAttachedPrograms(cgroup.get(), cgroupDir));
    // Attach the new program before detaching the old: while both are attached an access must
    // pass both, so the group is never less confined than either list. ALLOW_MULTI lets a
    // nested manager attach its own programs below, which can only narrow ours.
    bpf_attr attach = zeroedAttr();
    attach.target_fd = static_cast<__u32>(cgroup.get());
    attach.attach_bpf_fd = static_cast<__u32>(program);
    attach.attach_type = BPF_CGROUP_DEVICE;
    attach.attach_flags = BPF_F_ALLOW_MULTI;
    if (bpfCall(BPF_PROG_ATTACH, attach) != 0) {
        return failErrno(errno, "cannot attach the device program to cgroup '" + cgroupDir + "'");
    }
    for (const UniqueFd& old : previous) {
        bpf_attr detach = zeroedAttr();
        detach.target_fd = static_cast<__u32>(cgroup.get());
        detach.attach_bpf_fd = static_cast<__u32>(old.get());
        detach.attach_type = BPF_CGROUP_DEVICE;
        if (bpfCall(BPF_PROG_DETACH, detach) != 0 && errno != ENOENT) {
            return failErrno(errno, "cannot detach the previous device program from cgroup '" + cgroupDir + "'");
        }
    }
    return {};
}

Result<void> allowOnlyDevicesV2(const std::string& cgroupDir, const std::vector<std::string>& rules) {
    CORRAL_ASSIGN_OR_RETURN(auto parsed, parseDeviceRules(rules));
    CORRAL_ASSIGN_OR_RETURN(UniqueFd program, loadDeviceProgram(buildDeviceProgram(parsed)));
    return attachDeviceProgram(cgroupDir, program.get());
}

}  // namespace corral::host
