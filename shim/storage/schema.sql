CREATE TABLE IF NOT EXISTS revision_log (
	id INTEGER NOT NULL, 
	resource VARCHAR NOT NULL, 
	namespace VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	event VARCHAR NOT NULL, 
	object BLOB NOT NULL, 
	PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS current_state (
	resource VARCHAR NOT NULL, 
	namespace VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	revision INTEGER NOT NULL, 
	object BLOB NOT NULL, 
	PRIMARY KEY (resource, namespace, name)
);

CREATE TABLE IF NOT EXISTS store_setting (
	"key" VARCHAR NOT NULL, 
	value VARCHAR NOT NULL, 
	PRIMARY KEY ("key")
);
