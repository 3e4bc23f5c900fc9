import StorageEngine
import XCTest

final class SQLStatementsTests: XCTestCase {
    func testSplitsAtTopLevelSemicolonsOnly() {
        let script = """
            CREATE TABLE a (x TEXT DEFAULT 'semi;colon'); -- a comment; with a semicolon
            /* block; comment */ INSERT INTO a VALUES ('it''s; fine');
            CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;
            SELECT $1;;
            """
        let statements = SQLStatements.split(script)
        XCTAssertEqual(statements.count, 4, "\(statements)")
        XCTAssertEqual(statements[0], "CREATE TABLE a (x TEXT DEFAULT 'semi;colon')")
        XCTAssertTrue(statements[1].hasSuffix("INSERT INTO a VALUES ('it''s; fine')"), statements[1])
        XCTAssertTrue(statements[2].contains("$body$ SELECT 1; $body$"), statements[2])
        XCTAssertEqual(statements[3], "SELECT $1")
    }

    func testEmptyScriptHasNoStatements() {
        XCTAssertEqual(SQLStatements.split("  ;\n ; "), [])
    }
}
