// SPDX-License-Identifier: LGPL-2.1-or-later
// parseXmlDocument: what XML 1.0 documents it reads, and the error it gives for each way a
// document can be malformed (the message, the line and the caret).
#include <gtest/gtest.h>

#include <string>

#include "conf/xml_node.hpp"

using namespace corral;
using namespace corral::conf;

namespace {

XmlNode parsed(std::string_view text) {
    auto doc = parseXmlDocument(text, "(test)");
    EXPECT_TRUE(doc) << doc.error().message;
    return doc ? *doc : XmlNode{};
}

std::string refusal(std::string_view text) {
    auto doc = parseXmlDocument(text, "(test)");
    EXPECT_FALSE(doc) << "accepted: " << text;
    return doc ? std::string() : doc.error().message;
}

}  // namespace

TEST(XmlReader, ReadsElementsAttributesAndText) {
    XmlNode root = parsed("<domain type='kvm' id=\"3\">\n  <name>vm1</name>\n  <devices>\n    <disk/>\n  </devices>\n</domain>\n");
    EXPECT_EQ(root.name, "domain");
    ASSERT_EQ(root.attrs.size(), 2u);
    EXPECT_EQ(root.attrOr("type"), "kvm");
    EXPECT_EQ(root.attrOr("id"), "3");
    ASSERT_EQ(root.children.size(), 2u);
    EXPECT_EQ(root.childText("name"), "vm1");
    EXPECT_EQ(root.children[0].line, 2);
    EXPECT_EQ(root.children[1].children[0].line, 4);
    EXPECT_TRUE(root.text.empty());  // layout whitespace is not content
}

TEST(XmlReader, PrologCommentsInstructionsAndByteOrderMark) {
    XmlNode root = parsed(
        "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\" standalone='yes'?>\n<!-- made by hand -->\n"
        "<?app hint?>\n<domain><!-- inside --><?app x?><name>a<!-- c -->b</name></domain>\n<!-- after -->\n");
    EXPECT_EQ(root.name, "domain");
    EXPECT_EQ(root.childText("name"), "ab");
    EXPECT_EQ(root.line, 4);
}

TEST(XmlReader, EntitiesCharacterReferencesAndCdata) {
    XmlNode root = parsed(
        "<a v='&lt;&gt;&amp;&apos;&quot;&#65;&#x42;&#xe9;'>x &lt; y &#x1F600; <![CDATA[<raw & ]]> ]</a>");
    EXPECT_EQ(root.attrOr("v"), "<>&'\"AB\xC3\xA9");
    EXPECT_EQ(root.text, "x < y \xF0\x9F\x98\x80 <raw &  ]");
}

TEST(XmlReader, LineBreaksAndAttributeNormalisation) {
    XmlNode root = parsed("<a v='one\ttwo\r\nthree' w='keep&#10;&#9;this'>\r\n<b>l1\r\nl2\rl3</b>\r\n<c/></a>");
    EXPECT_EQ(root.attrOr("v"), "one two three");
    EXPECT_EQ(root.attrOr("w"), "keep\n\tthis");
    EXPECT_EQ(root.childText("b"), "l1\nl2\nl3");
    EXPECT_EQ(root.children[0].line, 3);
    EXPECT_EQ(root.children[1].line, 6);  // CR LF and a lone CR are one line break each
}

TEST(XmlReader, NamespaceDeclarationsComeFirstAndPrefixesStay) {
    XmlNode root = parsed(
        "<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
        "<metadata><app:info xmlns:app='http://example.org/app' app:level='2' xml:lang='en'/>"
        "<x xmlns='http://example.org/default'/></metadata>"
        "<qemu:commandline><qemu:arg value='-trace'/></qemu:commandline></domain>");
    ASSERT_EQ(root.attrs.size(), 2u);
    EXPECT_EQ(root.attrs[0].first, "xmlns:qemu");
    EXPECT_EQ(root.attrs[1].first, "type");
    const XmlNode* info = &root.child("metadata")->children[0];
    EXPECT_EQ(info->name, "app:info");
    EXPECT_EQ(info->attrs[0].first, "xmlns:app");
    EXPECT_EQ(info->attrOr("app:level"), "2");
    EXPECT_EQ(root.child("metadata")->children[1].attrOr("xmlns"), "http://example.org/default");
    EXPECT_EQ(root.child("qemu:commandline")->children[0].attrOr("value"), "-trace");
}

TEST(XmlReader, MismatchedTagNamesLineAndCaret) {
    auto doc = parseXmlDocument("<domain type='kvm'>\n  <name>x</name>\n  <memory>1</memroy>\n</domain>\n",
                                "(domain_definition)");
    ASSERT_FALSE(doc);
    EXPECT_EQ(doc.error().code, ErrorCode::XmlDetail);
    EXPECT_EQ(doc.error().message,
              "(domain_definition):3: Opening and ending tag mismatch: memory line 3 and memroy\n"
              "  <memory>1</memroy>\n"
              "-------------^");
}

TEST(XmlReader, MalformedStructureIsNamed) {
    EXPECT_EQ(refusal(""), "(test):1: Document is empty");
    EXPECT_EQ(refusal("   \n"), "(test):2: Document is empty");
    EXPECT_EQ(refusal("hello <a/>"), "(test):1: Start tag expected, '<' not found\nhello <a/>\n^");
    EXPECT_EQ(refusal("<a/><b/>"), "(test):1: Extra content at the end of the document\n<a/><b/>\n----^");
    EXPECT_EQ(refusal("<a>\n<b>\n"), "(test):2: Premature end of data in tag b line 2\n<b>\n^");
    EXPECT_EQ(refusal("<a x='1' x='2'/>"), "(test):1: Attribute x redefined\n<a x='1' x='2'/>\n---------^");
    EXPECT_NE(refusal("<a x=1/>").find("AttValue: \" or ' expected for attribute x"), std::string::npos);
    EXPECT_NE(refusal("<a x/>").find("Specification mandates value for attribute x"), std::string::npos);
    EXPECT_NE(refusal("<a x='1'y='2'/>").find("no space before attribute y"), std::string::npos);
    EXPECT_NE(refusal("<a x='<'/>").find("Unescaped '<' not allowed"), std::string::npos);
    EXPECT_NE(refusal("<a x='1/>").find("attribute value not terminated"), std::string::npos);
    EXPECT_NE(refusal("<a><1/></a>").find("StartTag: invalid element name"), std::string::npos);
    EXPECT_NE(refusal("<a></></a>").find("expected the name of the element to close, </a>"), std::string::npos);
    EXPECT_NE(refusal("<a>]]></a>").find("Sequence ']]>' not allowed"), std::string::npos);
    EXPECT_NE(refusal("<a><!-- x -- y --></a>").find("'--' is not allowed inside a comment"), std::string::npos);
    EXPECT_NE(refusal("<a><!-- x </a>").find("Comment not terminated"), std::string::npos);
    EXPECT_NE(refusal("<a><![CDATA[x</a>").find("CData section not terminated"), std::string::npos);
    EXPECT_NE(refusal("<a/>\n<?xml version='1.0'?>").find("XML declaration allowed only at the start"),
              std::string::npos);
    EXPECT_NE(refusal("<?xml encoding='UTF-8'?><a/>").find("expecting version"), std::string::npos);
}

TEST(XmlReader, OnlyPredefinedEntitiesAndValidCharacters) {
    EXPECT_NE(refusal("<a>&nbsp;</a>").find("Entity 'nbsp' not defined"), std::string::npos);
    EXPECT_NE(refusal("<a>fish & chips</a>").find("EntityRef: expecting ';'"), std::string::npos);
    EXPECT_NE(refusal("<a>&#0;</a>").find("invalid character reference &#0;"), std::string::npos);
    EXPECT_NE(refusal("<a>&#xD800;</a>").find("invalid character reference"), std::string::npos);
    EXPECT_NE(refusal("<a>&#99999999999;</a>").find("invalid character reference"), std::string::npos);
    EXPECT_NE(refusal("<a>&#x;</a>").find("invalid character reference &#x;"), std::string::npos);
    EXPECT_NE(refusal("<a>&#65</a>").find("invalid character reference &#65<"), std::string::npos);
    EXPECT_EQ(parsed("<a>&#000000000000000000000000000000065;&#x00000000000000000042;</a>").text, "AB");
    EXPECT_NE(refusal("<a>fish & chips;</a>").find("EntityRef: expecting ';'"), std::string::npos);
    EXPECT_NE(refusal("<a>&amp x;</a>").find("EntityRef: expecting ';'"), std::string::npos);
    EXPECT_EQ(refusal("<a>\x01</a>"), "(test):1: character U+0001 is not allowed in XML\n<a>\x01</a>\n---^");
    EXPECT_NE(refusal("<a>caf\xE9</a>").find("Input is not proper UTF-8 (byte 0xE9)"), std::string::npos);
    EXPECT_NE(refusal("<a>\xC0\xAF</a>").find("not proper UTF-8"), std::string::npos);       // overlong '/'
    EXPECT_NE(refusal("<a>\xED\xA0\x80</a>").find("not proper UTF-8"), std::string::npos);   // a surrogate
    EXPECT_NE(refusal("<?xml version='1.0' encoding='ISO-8859-1'?><a>caf\xE9</a>")
                  .find("unsupported encoding 'ISO-8859-1': documents must be UTF-8"),
              std::string::npos);
}

TEST(XmlReader, DoctypesAreRefusedBeforeAnyEntityIsRead) {
    auto doc = parseXmlDocument("<!DOCTYPE a [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><a>&x;</a>", "(test)");
    ASSERT_FALSE(doc);
    EXPECT_EQ(doc.error().code, ErrorCode::XmlError);
    EXPECT_EQ(doc.error().message, "(test): a DOCTYPE is not allowed");
    EXPECT_NE(refusal("<a><!DOCTYPE a></a>").find("StartTag: invalid element name"), std::string::npos);
}

TEST(XmlReader, EveryPrefixMustBeDeclaredInScope) {
    EXPECT_EQ(refusal("<domain>\n  <qemu:commandline/>\n</domain>"),
              "(test):2: Namespace prefix qemu on commandline is not defined\n  <qemu:commandline/>\n---^");
    EXPECT_NE(refusal("<a><b xmlns:p='u'/><p:c/></a>").find("Namespace prefix p on c"), std::string::npos);
    EXPECT_NE(refusal("<a p:x='1'/>").find("Namespace prefix p for x is not defined"), std::string::npos);
    EXPECT_NE(refusal("<a xmlns:p=''/>").find("an empty URI cannot be bound"), std::string::npos);
    EXPECT_NE(refusal("<a x:='1'/>").find("malformed name 'x:'"), std::string::npos);
    EXPECT_NE(refusal("<a p:1='1' xmlns:p='u'/>").find("malformed name 'p:1'"), std::string::npos);
    // The caret goes under the attribute, on its line.
    EXPECT_EQ(refusal("<a\n x='1'\n p:y='2'/>"), "(test):3: Namespace prefix p for y is not defined\n p:y='2'/>\n-^");
    // A prefix is bound only inside the element that declares it, however many there are.
    std::string many = "<r>";
    for (int i = 0; i < 300; ++i) {
        many += "<e xmlns:p" + std::to_string(i) + "='u" + std::to_string(i) + "'/>";
    }
    EXPECT_TRUE(parseXmlDocument(many + "</r>", "(test)"));
    EXPECT_NE(refusal(many + "<p7:x/></r>").find("Namespace prefix p7 on x is not defined"), std::string::npos);
    // Namespaces' own rules: one attribute per namespace and local name, the reserved prefixes.
    EXPECT_NE(refusal("<a xmlns:p='u' xmlns:q='u' p:x='1' q:x='2'/>").find("Attribute x in namespace u redefined"),
              std::string::npos);
    EXPECT_TRUE(parseXmlDocument("<a xmlns:p='u' xmlns:q='v' p:x='1' q:x='2' x='3'/>", "(test)"));
    EXPECT_TRUE(parseXmlDocument("<a xmlns:xml='http://www.w3.org/XML/1998/namespace' xml:lang='en'/>", "(test)"));
    EXPECT_NE(refusal("<a xmlns:xml='http://wrong'/>").find("the prefix xml belongs to"), std::string::npos);
    EXPECT_NE(refusal("<a xmlns:p='http://www.w3.org/XML/1998/namespace'/>").find("the prefix xml belongs to"),
              std::string::npos);
    EXPECT_NE(refusal("<a xmlns='http://www.w3.org/XML/1998/namespace'/>").find("cannot be the default namespace"),
              std::string::npos);
    EXPECT_NE(refusal("<a xmlns:xmlns='u'/>").find("malformed namespace declaration"), std::string::npos);
}

TEST(XmlReader, TheDeclarationFollowsItsGrammar) {
    EXPECT_TRUE(parseXmlDocument("<?xml version = '1.0'  encoding= \"utf-8\" standalone ='no' ?><a/>", "(test)"));
    EXPECT_TRUE(parseXmlDocument("<?xml version='1.1'?><a/>", "(test)"));
    EXPECT_NE(refusal("<?xml?><a/>").find("Malformed declaration expecting version"), std::string::npos);
    EXPECT_NE(refusal("<?xml encoding='UTF-8' version='1.0'?><a/>").find("expecting version"), std::string::npos);
    EXPECT_NE(refusal("<?xml version='1.0'encoding='UTF-8'?><a/>").find("'?>' expected"), std::string::npos);
    EXPECT_NE(refusal("<?xml version='1.0' version='1.0'?><a/>").find("'?>' expected"), std::string::npos);
    EXPECT_NE(refusal("<?xml version='1.0' standalone='yes' encoding='UTF-8'?><a/>").find("'?>' expected"),
              std::string::npos);
    EXPECT_NE(refusal("<?xml version='1.0' standalone='maybe'?><a/>").find("standalone accepts only"),
              std::string::npos);
    EXPECT_NE(refusal("<?xml version='1.foo'?><a/>").find("unsupported XML version '1.foo'"), std::string::npos);
    EXPECT_NE(refusal("<?xml version='1.0' standalone='\xFF'?><a/>").find("not proper UTF-8"), std::string::npos);
    EXPECT_NE(refusal("<?xml version='1.0\x01'?><a/>").find("U+0001 is not allowed"), std::string::npos);
    EXPECT_NE(refusal("<?xml version=1.0?><a/>").find("the value of version must be quoted"), std::string::npos);
}

TEST(XmlReader, NamesFollowXmlNameCharacters) {
    XmlNode root = parsed("<caf\xC3\xA9 \xE5\x90\x8D\xE5\x89\x8D='1' a\xC2\xB7" "b-c.d='2'/>");
    EXPECT_EQ(root.name, "caf\xC3\xA9");
    EXPECT_EQ(root.attrOr("\xE5\x90\x8D\xE5\x89\x8D"), "1");
    EXPECT_NE(refusal("<\xC2\xA0/>").find("Start tag expected"), std::string::npos);        // no-break space
    EXPECT_NE(refusal("<\xCC\x80/>").find("Start tag expected"), std::string::npos);        // a combining mark
    EXPECT_NE(refusal("<a\xC3\x97" "b/>").find("malformed start tag <a>"), std::string::npos);  // the sign x
    EXPECT_NE(refusal("<a b\xE3\x80\x80" "c='1'/>").find("Specification mandates value for attribute b"), std::string::npos);
    EXPECT_NE(refusal("<a><?p:q x?></a>").find("target 'p:q' contains a colon"), std::string::npos);
}

TEST(XmlReader, LongLinesAndTabsKeepTheCaretInPlace) {
    EXPECT_EQ(refusal("\t<a x='1' x='2'/>"), "(test):1: Attribute x redefined\n\t<a x='1' x='2'/>\n\t---------^");
    std::string pad(500, 'p');
    std::string doc = "<a x='" + pad + "' x='2' y='" + pad + "'/>";
    std::string msg = refusal(doc);
    std::size_t second = doc.find("' x='2'") + 2;
    std::string expectedLine = doc.substr(second - 80, 160);
    EXPECT_EQ(msg, "(test):1: Attribute x redefined\n" + expectedLine + "\n" + std::string(80, '-') + "^");
    // On a line with wide characters the caret counts characters, not bytes.
    EXPECT_EQ(refusal("<a t='\xC3\xA9\xC3\xA9' t='2'/>"),
              "(test):1: Attribute t redefined\n<a t='\xC3\xA9\xC3\xA9' t='2'/>\n----------^");
}

TEST(XmlReader, NestingIsBounded) {
    auto nested = [](int depth) {
        std::string s;
        for (int i = 0; i < depth; ++i) {
            s += "<e>";
        }
        for (int i = 0; i < depth; ++i) {
            s += "</e>";
        }
        return s;
    };
    EXPECT_TRUE(parseXmlDocument(nested(256), "(test)"));
    EXPECT_NE(refusal(nested(257)).find("Excessive depth in document"), std::string::npos);
    EXPECT_NE(refusal(nested(100000)).find("Excessive depth in document"), std::string::npos);
}

TEST(XmlReader, FormattedTreesReadBackTheSame) {
    XmlNode root = parsed("<a x='&lt;&apos;&quot;&amp;'><b>1 &lt; 2 &amp;&amp; 3 &gt; 2</b><c y='\t'/></a>");
    std::string out;
    formatXmlNode(root, 0, out);
    XmlNode again = parsed(out);
    std::string out2;
    formatXmlNode(again, 0, out2);
    EXPECT_EQ(out, out2);
    EXPECT_EQ(again.attrOr("x"), "<'\"&");
    EXPECT_EQ(again.childText("b"), "1 < 2 && 3 > 2");
}
